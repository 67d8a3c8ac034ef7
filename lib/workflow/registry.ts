import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { loadedPayloadInfo } from '../payload/loaded-info.js';
import type { Payload } from '../payload/model.js';
import type { BuildIdHex, HookKind } from '../xen/domain.js';

/**
 * What this tool knows about the payloads it uploaded, kept in the state directory: the facts the
 * hypervisor cannot report (hooks, safe-to-reapply, symbols) and the payload bytes, which a
 * sequential REPLACE needs to restore a reverted payload that Xen will not apply twice.
 * A record is trusted only while its build-id matches what the hypervisor holds under that name.
 */
export interface RegistryRecord {
  readonly version: 1;
  readonly name: string;
  readonly buildId: BuildIdHex | null;
  readonly depends: BuildIdHex | null;
  readonly xenDepends: BuildIdHex | null;
  /** Enabled hooks (null pointers left out), in section order. */
  readonly hooks: readonly { readonly kind: HookKind; readonly symbol: string | null }[];
  readonly vetoingHooks: readonly HookKind[];
  readonly safeToReapply: boolean;
  readonly funcs: readonly (string | null)[];
  /**
   * Symbols the payload adds to the hypervisor's table, as Xen keeps them (every payload symbol but
   * the functions' replacements): for later uploads' undefined- and duplicate-symbol checks.
   */
  readonly symbols: readonly string[];
  readonly size: number;
  readonly sha256: string;
  /**
   * SHA-256 of the payload's `.modinfo` bytes (empty without one), which LIST returns for every
   * payload: a record whose hash differs from LIST's is about another payload of that name.
   * Absent in records written before it was kept.
   */
  readonly modinfoSha256?: string;
  /** When it was uploaded (by xlp); LIST's upload order has to agree with these. */
  readonly uploadedAt: string;
  /**
   * Set when this tool applied it since it was (last) uploaded: orders payloads applied with
   * --nodeps, and tells that a CHECKED payload was reverted (Xen will not re-apply one that is not
   * safe to re-apply: it has to be uploaded afresh).
   */
  readonly appliedSeq?: number;
  /** Set with `appliedSeq` when xlp applied it with --nodeps: its depends note says nothing of its place. */
  readonly appliedNodeps?: true;
}

/** The hash `modinfoSha256` holds, of `.modinfo` bytes as the payload carries them and LIST returns them. */
export function modinfoHash(raw: Uint8Array | null | undefined): string {
  return createHash('sha256')
    .update(raw ?? new Uint8Array(0))
    .digest('hex');
}

function fileStem(name: string): string {
  // Payload names may hold any byte but NUL, so they never become file names themselves.
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

export interface RegistryOptions {
  /** fsync what it writes (default true; benchmarks and tests on throw-away directories turn it off). */
  readonly durable?: boolean;
}

export class PayloadRegistry {
  private readonly durable: boolean;

  constructor(
    private readonly dir: string,
    options: RegistryOptions = {},
  ) {
    this.durable = options.durable ?? true;
  }

  private paths(name: string): { json: string; bytes: string } {
    const stem = join(this.dir, fileStem(name));
    return { json: `${stem}.json`, bytes: `${stem}.livepatch` };
  }

  async record(name: string, bytes: Uint8Array, payload: Payload): Promise<RegistryRecord> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const rec: RegistryRecord = {
      version: 1,
      name,
      buildId: payload.buildId,
      depends: payload.depends,
      xenDepends: payload.xenDepends,
      hooks: payload.hooks.filter((h) => !h.isNull).map((h) => ({ kind: h.kind, symbol: h.symbol })),
      vetoingHooks: payload.vetoingHooks,
      safeToReapply: payload.safeToReapply,
      funcs: payload.funcs.map((f) => f.name),
      symbols: loadedPayloadInfo(name, payload).symbols,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      modinfoSha256: modinfoHash(payload.modinfo?.raw),
      uploadedAt: new Date().toISOString(),
    };
    const p = this.paths(name);
    await writeFileAtomic(p.bytes, bytes, { durable: this.durable });
    await writeFileAtomic(p.json, `${JSON.stringify(rec, null, 2)}\n`, { durable: this.durable });
    return rec;
  }

  async get(name: string): Promise<RegistryRecord | null> {
    try {
      const rec = JSON.parse(await readFile(this.paths(name).json, 'utf8')) as RegistryRecord;
      return rec.version === 1 && rec.name === name ? rec : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return null;
      throw e;
    }
  }

  /** The uploaded bytes, verified against the recorded hash. */
  async bytes(name: string): Promise<Uint8Array | null> {
    const rec = await this.get(name);
    if (!rec) return null;
    try {
      const data = await readFile(this.paths(name).bytes);
      return createHash('sha256').update(data).digest('hex') === rec.sha256 ? data : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async markApplied(name: string, how: { nodeps?: boolean } = {}): Promise<void> {
    const rec = await this.get(name);
    if (!rec) return;
    const { appliedNodeps: _previous, ...rest } = rec;
    const next: RegistryRecord = { ...rest, appliedSeq: nextSeq(), ...(how.nodeps ? { appliedNodeps: true as const } : {}) };
    // Not fsync'ed: the order is a hint for payloads applied with --nodeps, not worth a disk flush
    // on every apply (it would delay the answer by milliseconds).
    await writeFileAtomic(this.paths(name).json, `${JSON.stringify(next, null, 2)}\n`, { durable: false });
  }

  /** The payload was uploaded again from the recorded bytes: it is fresh, never applied. */
  async markUploaded(name: string): Promise<void> {
    const rec = await this.get(name);
    if (!rec) return;
    const { appliedSeq: _dropped, appliedNodeps: _nodeps, ...fresh } = rec;
    await writeFileAtomic(this.paths(name).json, `${JSON.stringify({ ...fresh, uploadedAt: new Date().toISOString() }, null, 2)}\n`, { durable: this.durable });
  }

  async forget(name: string): Promise<void> {
    const p = this.paths(name);
    await rm(p.json, { force: true });
    await rm(p.bytes, { force: true });
  }

  /**
   * Every record. Read synchronously: four system calls a file instead of four thread-pool round
   * trips (about 15 µs a record against 60-150; with a thousand payloads loaded, 15 ms against
   * 150), which the stack view pays on every command.
   */
  async all(): Promise<RegistryRecord[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: RegistryRecord[] = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as RegistryRecord;
        if (rec.version === 1) out.push(rec);
      } catch {
        // A record we cannot read is a record we do not trust.
      }
    }
    return out;
  }
}

let lastSeq = 0;
/** Strictly increasing within a process (two applies in one millisecond keep their order). */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

/** Hook kinds with their multiplicity, as the planner wants them. */
export function hookInventory(rec: Pick<RegistryRecord, 'hooks'>): Map<HookKind, number> {
  const m = new Map<HookKind, number>();
  for (const h of rec.hooks) m.set(h.kind, (m.get(h.kind) ?? 0) + 1);
  return m;
}
