/**
 * A mock hypervisor persisted in a state directory, so separate processes act on one simulated
 * hypervisor. Layout (all files 0600, the directory 0700 and owned by the user):
 *
 *   state.json          {magic, schema, identity, machine}: everything but the blobs below
 *   symbols.json        the identity's hypervisor symbol table, {name: hex address}, if it has one
 *   payloads/<sha256>   the bytes of each uploaded payload, named by their SHA-256
 *   lock                the cross-process lock (lib/fs/lock.ts)
 *
 * Every operation takes the lock, re-reads state.json if another process replaced it since (its
 * inode, size and mtime tell), runs, and if anything changed writes it back atomically. A state file
 * that is not ours, of another schema, or damaged is reported (`MockStateError`), never replaced.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { acquireLock } from '../fs/lock.js';
import { checkPrivateDir, ensurePrivateDir, PrivateDirError } from '../fs/private-dir.js';
import type { SymbolTable } from '../preflight/types.js';
import { decodeJson, encodeJson } from './codec.js';
import { MockStateError } from './errors.js';
import type { MockIdentity } from './identity.js';
import type { MachineState } from './state.js';

export const STATE_MAGIC = 'xen-livepatch/mock-state';
export const STATE_SCHEMA = 1;
export const STATE_FILE = 'state.json';
export const SYMBOLS_FILE = 'symbols.json';
export const PAYLOAD_DIR = 'payloads';
export const LOCK_FILE = 'lock';

/** The identity as stored: the symbol table lives in its own file. */
type StoredIdentity = Omit<MockIdentity, 'symbols'> & { readonly symbols: { readonly file: string; readonly sha256: string; readonly count: number } | null };

interface StateFile {
  readonly magic: string;
  readonly schema: number;
  readonly identity: StoredIdentity;
  readonly machine: MachineState;
}

export interface StoreOptions {
  /** How long to wait for another process's operation (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** fsync writes (default true; tests on scratch directories may turn it off). */
  readonly durable?: boolean;
}

export type TransactionOutcome<T> = ({ readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown }) & {
  readonly dirty: boolean;
  readonly blobs?: ReadonlyMap<string, Uint8Array>;
};

export interface Loaded {
  readonly identity: MockIdentity;
  readonly machine: MachineState;
}

function sameFile(a: { ino: bigint; size: bigint; mtimeNs: bigint } | null, b: { ino: bigint; size: bigint; mtimeNs: bigint }): boolean {
  return a !== null && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

export class StateDirectory {
  readonly stateFile: string;
  readonly lockFile: string;
  private cached: { stat: { ino: bigint; size: bigint; mtimeNs: bigint }; loaded: Loaded } | null = null;
  private symbolsCache: { sha256: string; table: SymbolTable } | null = null;

  constructor(
    readonly dir: string,
    private readonly options: StoreOptions = {},
  ) {
    this.stateFile = join(dir, STATE_FILE);
    this.lockFile = join(dir, LOCK_FILE);
  }

  private async checkDir(): Promise<void> {
    try {
      await checkPrivateDir(this.dir);
    } catch (e) {
      if (e instanceof PrivateDirError) throw new MockStateError('unsafe', this.dir, e.message, { cause: e });
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MockStateError('not-initialized', this.dir, `no mock state directory at ${this.dir} (create one with \`xlp mock init\`)`);
      throw e;
    }
  }

  async exists(): Promise<boolean> {
    return existsSync(this.stateFile);
  }

  private lock(purpose: string) {
    return acquireLock(this.lockFile, { timeoutMs: this.options.lockTimeoutMs ?? 10_000, purpose });
  }

  /** Creates the directory's state. Refuses to overwrite one unless `force`. */
  async init(identity: MockIdentity, machine: MachineState, options: { force?: boolean } = {}): Promise<void> {
    try {
      await ensurePrivateDir(this.dir);
    } catch (e) {
      if (e instanceof PrivateDirError) throw new MockStateError('unsafe', this.dir, e.message, { cause: e });
      throw e;
    }
    const lock = await this.lock('mock init');
    try {
      if (existsSync(this.stateFile) && !options.force) {
        throw new MockStateError('already-initialized', this.dir, `${this.dir} already holds a mock hypervisor (use --force to replace it)`);
      }
      await rm(join(this.dir, PAYLOAD_DIR), { recursive: true, force: true });
      await this.save({ identity, machine }, new Map());
    } finally {
      await lock.release();
    }
  }

  /**
   * Runs `fn` on the current state under the lock. `fn` reports whether it changed the state (a
   * refused call may have: a console line, a hook's rc, a panic) and the payload bytes it added;
   * the state is then written back, and the call's value returned or its error thrown.
   */
  async transact<T>(purpose: string, fn: (loaded: Loaded) => TransactionOutcome<T>): Promise<T> {
    await this.checkDir();
    const lock = await this.lock(purpose);
    try {
      const loaded = await this.load();
      const out = fn(loaded);
      if (out.dirty) {
        try {
          await this.save(loaded, out.blobs ?? new Map());
        } catch (e) {
          this.cached = null; // memory is ahead of the disk now: re-read next time
          throw e;
        }
      }
      if (!out.ok) throw out.error;
      return out.value as T;
    } finally {
      await lock.release();
    }
  }

  /** Reads the state without taking the lock (a consistent snapshot thanks to atomic renames). */
  async peek(): Promise<Loaded> {
    await this.checkDir();
    return this.load();
  }

  private corrupt(why: string, cause?: unknown): MockStateError {
    return new MockStateError('corrupt', this.stateFile, `mock state ${this.stateFile} is damaged: ${why}; it was left as it is (move it away and run \`xlp mock init\` to start afresh)`, { cause });
  }

  private async load(): Promise<Loaded> {
    let st;
    try {
      st = await lstat(this.stateFile, { bigint: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MockStateError('not-initialized', this.dir, `no mock hypervisor in ${this.dir} (create one with \`xlp mock init\`)`);
      throw e;
    }
    if (st.isSymbolicLink() || !st.isFile()) throw new MockStateError('unsafe', this.stateFile, `${this.stateFile} is not a regular file`);
    if (typeof process.getuid === 'function' && Number(st.uid) !== process.getuid()) {
      throw new MockStateError('unsafe', this.stateFile, `${this.stateFile} belongs to uid ${st.uid}, not to this user`);
    }
    const key = { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
    if (this.cached && sameFile(this.cached.stat, key)) return this.cached.loaded;

    const text = await readFile(this.stateFile, 'utf8');
    let raw: unknown;
    try {
      raw = decodeJson(text);
    } catch (e) {
      throw this.corrupt('not valid JSON', e);
    }
    const file = raw as Partial<StateFile> | null;
    if (typeof file !== 'object' || file === null || file.magic !== STATE_MAGIC) {
      throw new MockStateError('foreign', this.stateFile, `${this.stateFile} is not a xen-livepatch mock state (no "${STATE_MAGIC}" magic); refusing to touch it`);
    }
    if (file.schema !== STATE_SCHEMA) {
      throw new MockStateError('schema-version', this.stateFile, `${this.stateFile} has state schema ${String(file.schema)}; this version of xen-livepatch reads schema ${STATE_SCHEMA}`);
    }
    const m = file.machine as Partial<MachineState> | undefined;
    const id = file.identity as Partial<StoredIdentity> | undefined;
    if (
      !m || !id || !Array.isArray(m.payloads) || !Array.isArray(m.applied) || typeof m.payloadVersion !== 'number' || typeof m.nextVa !== 'bigint' ||
      typeof m.console !== 'object' || !Array.isArray(m.hookRules) || !Array.isArray(m.hookCalls) || !Array.isArray(m.warnings) ||
      typeof id.version !== 'object' || typeof id.loglvl !== 'string'
    ) {
      throw this.corrupt('fields are missing or of the wrong type');
    }
    const names = new Set<string>();
    for (const p of m.payloads) {
      if (typeof p?.name !== 'string' || typeof p.sha256 !== 'string' || typeof p.payload !== 'object' || !Array.isArray(p.applied)) throw this.corrupt('a payload record is malformed');
      if (names.has(p.name)) throw this.corrupt(`payload ${p.name} appears twice`);
      names.add(p.name);
      if (!existsSync(join(this.dir, PAYLOAD_DIR, p.sha256))) throw this.corrupt(`the bytes of payload ${p.name} (${PAYLOAD_DIR}/${p.sha256}) are missing`);
    }
    for (const n of m.applied) if (!names.has(n)) throw this.corrupt(`applied payload ${n} is not loaded`);
    if (m.pending && !names.has(m.pending.name)) throw this.corrupt(`pending work for unknown payload ${m.pending.name}`);

    const identity: MockIdentity = { ...(id as StoredIdentity), symbols: await this.loadSymbols(id.symbols ?? null) };
    const loaded = { identity, machine: m as MachineState };
    this.cached = { stat: key, loaded };
    return loaded;
  }

  private async loadSymbols(ref: StoredIdentity['symbols']): Promise<SymbolTable | null> {
    if (!ref) return null;
    if (this.symbolsCache?.sha256 === ref.sha256) return this.symbolsCache.table;
    let text: string;
    try {
      text = await readFile(join(this.dir, ref.file), 'utf8');
    } catch (e) {
      throw this.corrupt(`the symbol table ${ref.file} cannot be read`, e);
    }
    if (createHash('sha256').update(text).digest('hex') !== ref.sha256) throw this.corrupt(`the symbol table ${ref.file} was altered`);
    const obj = JSON.parse(text) as Record<string, string>;
    const table = new Map(Object.entries(obj).map(([k, v]) => [k, BigInt(`0x${v}`)]));
    this.symbolsCache = { sha256: ref.sha256, table };
    return table;
  }

  private async save(loaded: Loaded, blobs: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const durable = this.options.durable ?? true;
    const { symbols, ...rest } = loaded.identity;
    let symbolsRef: StoredIdentity['symbols'] = null;
    if (symbols) {
      const text = JSON.stringify(Object.fromEntries([...symbols].map(([k, v]) => [k, v.toString(16)])));
      const sha256 = createHash('sha256').update(text).digest('hex');
      if (this.symbolsCache?.sha256 !== sha256 || !existsSync(join(this.dir, SYMBOLS_FILE))) {
        await writeFileAtomic(join(this.dir, SYMBOLS_FILE), text, { durable });
        this.symbolsCache = { sha256, table: symbols };
      }
      symbolsRef = { file: SYMBOLS_FILE, sha256, count: symbols.size };
    }
    // Payload bytes first, so the state never names a file that is not there.
    if (blobs.size) {
      await mkdir(join(this.dir, PAYLOAD_DIR), { recursive: true, mode: 0o700 });
      for (const [sha, bytes] of blobs) {
        const path = join(this.dir, PAYLOAD_DIR, sha);
        if (!existsSync(path)) await writeFileAtomic(path, bytes, { durable });
      }
    }
    const file: StateFile = { magic: STATE_MAGIC, schema: STATE_SCHEMA, identity: { ...rest, symbols: symbolsRef }, machine: loaded.machine };
    await writeFileAtomic(this.stateFile, encodeJson(file), { durable });
    const st = await stat(this.stateFile, { bigint: true });
    this.cached = { stat: { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs }, loaded };
    await this.sweepBlobs(loaded.machine);
  }

  /** Deletes payload files no payload refers to any more (after an unload, or left by a crash). */
  private async sweepBlobs(machine: MachineState): Promise<void> {
    const dir = join(this.dir, PAYLOAD_DIR);
    if (!existsSync(dir)) return;
    const used = new Set(machine.payloads.map((p) => p.sha256));
    const files = await readdir(dir);
    if (files.length <= used.size) return;
    for (const f of files) if (!used.has(f) && !f.startsWith('.')) await rm(join(dir, f), { force: true });
  }

  /** The bytes of an uploaded payload. */
  async payloadBytes(sha256: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(join(this.dir, PAYLOAD_DIR, sha256)));
  }
}
