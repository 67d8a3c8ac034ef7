import { lstatSync, mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { sha256Hex } from '../fs/lazy-crypto.js';
import { array, boolean, type Decoder, integer, literal, matching, nullable, object, optional, string } from '../fs/decode.js';
import { PrivateFileError, readPrivateFile } from '../fs/private-file.js';
import { loadedPayloadInfo } from '../payload/loaded-info.js';
import type { Payload } from '../payload/model.js';
import { type BuildIdHex, HOOK_KINDS, type HookKind, PAYLOAD_MAX_SIZE } from '../xen/domain.js';
import { readStateFile, StateFileError, workflowName } from './state-file.js';

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
  return sha256Hex(raw ?? new Uint8Array(0));
}

const buildId = nullable(matching(/^(?:[0-9a-f]{2}){1,128}$/, 'a build-id in lowercase hex'));
const hookKind = literal(...HOOK_KINDS);
const recordDecoder: Decoder<RegistryRecord> = object({
  version: literal(1),
  name: workflowName,
  buildId,
  depends: buildId,
  xenDepends: buildId,
  hooks: array(object({ kind: hookKind, symbol: nullable(string(4096)) }), 1 << 16),
  vetoingHooks: array(hookKind, 8),
  safeToReapply: boolean,
  funcs: array(nullable(string(4096)), 1 << 16),
  symbols: array(string(4096), 1 << 20),
  size: integer(1, PAYLOAD_MAX_SIZE),
  sha256: matching(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex'),
  modinfoSha256: optional(matching(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex')),
  uploadedAt: string(64),
  appliedSeq: optional(integer(0)),
  appliedNodeps: optional(literal(true)),
}) as Decoder<RegistryRecord>;

const ADVICE = 'move it away: xlp then treats that payload as one it did not upload';

function fileStem(name: string): string {
  // Payload names may hold any byte but NUL, so they never become file names themselves.
  return sha256Hex(name).slice(0, 32);
}

export interface RegistryOptions {
  /** fsync what it writes (default true; benchmarks and tests on throw-away directories turn it off). */
  readonly durable?: boolean;
}

export class PayloadRegistry {
  private readonly durable: boolean;

  /** The registry of the workflows' state directory `stateDir` (its `payloads/`). */
  static inStateDir(stateDir: string, options: RegistryOptions = {}): PayloadRegistry {
    return new PayloadRegistry(join(stateDir, 'payloads'), options);
  }

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

  /** The registry directory: absent, or a private directory (never followed through a symlink). */
  private async ready(create: boolean): Promise<boolean> {
    let st;
    try {
      // Here, not on the thread pool: see lib/fs/atomic-write.ts.
      st = lstatSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (!create) return false;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      st = lstatSync(this.dir);
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    if (st.isSymbolicLink() || !st.isDirectory() || (uid !== null && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      throw new StateFileError(
        this.dir,
        'unsafe',
        `the payload registry ${this.dir} is not a private directory of this user (a symlink, ` +
          `another file type, another owner, or writable by others); refusing to use it`,
      );
    }
    return true;
  }

  private read(file: string): Promise<RegistryRecord | null> {
    return readStateFile(file, recordDecoder, { what: 'the registry record', maxBytes: 64 * 1024 * 1024, advice: ADVICE });
  }

  async record(name: string, bytes: Uint8Array, payload: Payload): Promise<RegistryRecord> {
    await this.ready(true);
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
      sha256: sha256Hex(bytes),
      modinfoSha256: modinfoHash(payload.modinfo?.raw),
      uploadedAt: new Date().toISOString(),
    };
    const p = this.paths(name);
    await writeFileAtomic(p.bytes, bytes, { durable: this.durable });
    await writeFileAtomic(p.json, `${JSON.stringify(rec, null, 2)}\n`, { durable: this.durable });
    return rec;
  }

  /** The record of `name`; null when there is none (or it is of another name: a hash collision). */
  async get(name: string): Promise<RegistryRecord | null> {
    if (!(await this.ready(false))) return null;
    const rec = await this.read(this.paths(name).json);
    return rec && rec.name === name ? rec : null;
  }

  /** The uploaded bytes, verified against the recorded hash and size (null when gone or altered). */
  async bytes(name: string): Promise<Uint8Array | null> {
    const rec = await this.get(name);
    if (!rec) return null;
    const file = this.paths(name).bytes;
    let data: Buffer | null;
    try {
      data = await readPrivateFile(file, { maxBytes: PAYLOAD_MAX_SIZE });
    } catch (e) {
      if (!(e instanceof PrivateFileError)) throw e;
      throw new StateFileError(
        file,
        e.problem === 'too-large' || e.problem === 'unreadable' ? 'damaged' : 'unsafe',
        `the registry's copy of ${JSON.stringify(name)} cannot be used: ${e.message}; ${ADVICE}`,
        { cause: e },
      );
    }
    if (!data) return null;
    return data.length === rec.size && sha256Hex(data) === rec.sha256 ? data : null;
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
    await writeFileAtomic(this.paths(name).json, `${JSON.stringify({ ...fresh, uploadedAt: new Date().toISOString() }, null, 2)}\n`, {
      durable: this.durable,
    });
  }

  async forget(name: string): Promise<void> {
    const p = this.paths(name);
    await rm(p.json, { force: true });
    await rm(p.bytes, { force: true });
  }

  /** Every record, each decoded and checked (a damaged or unsafe one is a StateFileError naming it). */
  async all(): Promise<RegistryRecord[]> {
    if (!(await this.ready(false))) return [];
    const out: RegistryRecord[] = [];
    for (const f of (await readdir(this.dir)).filter((f) => /^[0-9a-f]{32}\.json$/.test(f))) {
      const rec = await this.read(join(this.dir, f));
      // Only a record filed under its own name's hash speaks for that name.
      if (rec && `${fileStem(rec.name)}.json` === f) out.push(rec);
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
