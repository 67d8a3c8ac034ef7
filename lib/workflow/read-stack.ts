import type { Backend, PayloadListEntry } from '../backend/backend.js';
import { modinfoStrings } from '../payload/modinfo.js';
import type { ConsoleWatcher } from './console-watcher.js';
import type { DebugDump } from './debug-dump.js';
import { readDebugDump } from './read-dump.js';
import { modinfoHash, type PayloadRegistry, type RegistryRecord } from './registry.js';
import { type DumpUse, type KnownPayload, type LoadedPayload, orderStack, type StackView } from './stack.js';
import { allSettled } from '../host/all-settled.js';

export interface StackOptions {
  /**
   * When to press debug key `x` (every press floods the hypervisor's console and serial line):
   * `when-needed` (default) only when a payload xlp did not upload is applied; `always` also to
   * check xlp's records against what the hypervisor holds.
   */
  readonly dump?: 'when-needed' | 'always';
}

export interface StackSources {
  readonly backend: Backend;
  readonly registry: PayloadRegistry;
  readonly console: ConsoleWatcher;
}

/**
 * The registry records that describe the very payload the hypervisor holds under their name. LIST
 * returns each payload's `.modinfo` (compared with the record's hash) in upload order (which the
 * records' upload times must follow): a payload another tool unloaded and uploaded again under the
 * same name after xlp uploaded others fails the order check, one with other metadata the hash.
 */
export function trustedRecords(listed: readonly PayloadListEntry[], records: readonly RegistryRecord[]): Map<string, RegistryRecord> {
  const byName = new Map(records.map((r) => [r.name, r]));
  const trusted = new Map<string, RegistryRecord>();
  let latest = Number.NEGATIVE_INFINITY;
  for (const p of listed) {
    const r = byName.get(p.name);
    if (!r) continue;
    const at = Date.parse(r.uploadedAt);
    if (!Number.isNaN(at)) {
      if (at < latest) continue; // loaded after payloads xlp uploaded later: not the upload xlp recorded
      latest = at;
    }
    if (r.modinfoSha256 !== undefined && r.modinfoSha256 !== modinfoHash(p.metadata)) continue;
    trusted.set(p.name, r);
  }
  return trusted;
}

/** The applied stack from LIST and xlp's records, pressing `x` only when they cannot tell. */
export async function readStack(src: StackSources, options: StackOptions = {}): Promise<StackView> {
  const [listed, records, version] = await allSettled([src.backend.list(), src.registry.all(), src.backend.xenVersion()]);
  const trusted = trustedRecords(listed, records);
  const loaded = listed.map((p): LoadedPayload => {
    const r = trusted.get(p.name);
    return {
      name: p.name,
      state: p.state,
      buildId: r?.buildId ?? null,
      dependsOn: r?.depends ?? null,
      dependsOnXen: r?.xenDepends ?? null,
      metadata: modinfoStrings(p.metadata),
      evidence: r ? 'registry' : 'unknown',
    };
  });
  const foreign = loaded.filter((p) => p.state === 'APPLIED' && p.evidence === 'unknown');
  let dump: DumpUse = 'not-needed';
  const dumpNotes: string[] = [];
  if (foreign.length || options.dump === 'always') {
    const reading = await readDebugDump(src.backend, src.console);
    dump = reading.outcome;
    let blocks: DebugDump | null = null;
    switch (reading.outcome) {
      case 'complete':
        blocks = reading.dump;
        break;
      case 'truncated':
        blocks = reading.dump;
        dumpNotes.push(
          `the x dump did not fit the hypervisor's console ring, which kept its last ${reading.bytes} bytes ` +
            `(16 KiB on a host with few CPUs; conring_size= on Xen's command line makes it larger): ` +
            `${blocks?.payloads.length ?? 0} of ${listed.length} payload blocks could be read`,
        );
        break;
      case 'lock-held':
        blocks = reading.dump;
        dumpNotes.push("the x dump was cut short: Xen's payload lock was taken (an action was running); retry shortly");
        break;
      case 'unavailable':
        dumpNotes.push(`the x dump could not be read: ${reading.reason}`);
        break;
    }
    if (blocks) mergeDump(loaded, blocks, trusted);
  }
  const known = (name: string): KnownPayload | null => {
    const r = trusted.get(name);
    if (!r) return null;
    return {
      hooks: r.hooks.map((h) => h.kind),
      ...(r.appliedSeq === undefined ? {} : { appliedSeq: r.appliedSeq }),
      ...(r.appliedNodeps ? { appliedNodeps: true } : {}),
    };
  };
  return orderStack({ xenBuildId: version.buildId, loaded, known, dump, dumpNotes });
}

/**
 * Takes build-ids from the dump's blocks: for payloads xlp knows nothing of, and in place of a
 * record whose build-id the hypervisor contradicts (that record is then no longer trusted).
 */
function mergeDump(loaded: LoadedPayload[], dump: DebugDump, trusted: Map<string, RegistryRecord>): void {
  const blocks = new Map(dump.payloads.map((b) => [b.name, b]));
  for (const [i, p] of loaded.entries()) {
    const b = blocks.get(p.name);
    if (!b) continue;
    const rec = trusted.get(p.name);
    if (rec && (rec.buildId === null || b.buildId === null || rec.buildId === b.buildId)) continue;
    trusted.delete(p.name);
    loaded[i] = { ...p, buildId: b.buildId, dependsOn: b.dependsOn, dependsOnXen: b.dependsOnXen, evidence: 'dump' };
  }
}
