/**
 * A mock hypervisor persisted in a state directory, so separate processes act on one simulated
 * hypervisor. Layout (all files 0600, the directory 0700 and owned by the user):
 *
 *   state.json          {magic, schema, identity, machine}: everything but the blobs below
 *   symbols.json        the identity's hypervisor symbol table, {name: hex address}, if it has one
 *   payloads/<sha256>   the bytes of each uploaded payload, named by their SHA-256
 *   payloads/.verified.json  which blobs were last found to hash to their names (a cache)
 *   lock                the cross-process lock (lib/fs/lock.ts)
 *
 * Every operation takes the lock, re-reads state.json if another process replaced it since (its
 * inode, size and mtime tell), runs, and if anything changed writes it back atomically. A state file
 * that is not ours, of another schema, or damaged is reported (`MockStateError`), never replaced.
 * Everything read back is untrusted input: files are read without following symlinks, only from
 * private directories, every field is decoded and range-checked (state-decoder.ts), and each
 * payload's bytes must hash to the name the state gives them (checked again when the file changed). Only `init` creates a state, and it
 * refuses a directory holding anything a mock did not put there; the only files ever deleted are
 * payload blobs named by a SHA-256.
 */
// The calls of every hypercall's load and save are made in place, not on the thread pool: each is
// one call on a local file, cheaper than the round trip (lib/fs/atomic-write.ts).
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { sha256Hex } from '../fs/lazy-crypto.js';
import { DecodeError, isPlainObject, parseJson } from '../fs/decode.js';
import { acquireLock } from '../fs/lock.js';
import { checkPrivateDir, ensurePrivateDir, PrivateDirError } from '../fs/private-dir.js';
import { PrivateFileError, readPrivateFile } from '../fs/private-file.js';
import type { SymbolTable } from '../xen/symbols.js';
import { PAYLOAD_MAX_SIZE } from '../xen/domain.js';
import { decodeJson, encodeJson } from './codec.js';
import { MockStateError } from './errors.js';
import type { MockIdentity } from './identity.js';
import type { MachineState } from './state.js';
import { decodeMachine, decodeStoredIdentity, decodeSymbols } from './state-decoder.js';

export const STATE_MAGIC = 'xen-livepatch/mock-state';
export const STATE_SCHEMA = 1;
export const STATE_FILE = 'state.json';
export const SYMBOLS_FILE = 'symbols.json';
export const PAYLOAD_DIR = 'payloads';
/**
 * In payloads/: the stat keys (inode, size, ctime, mtime) of the blobs last found to hash to their
 * names, so that a new process does not read and hash every payload again (a dot file: not a blob,
 * and skipped by the check for foreign files there).
 */
export const VERIFIED_FILE = '.verified.json';

/** A regular file's identity and last change, as a string; null if it is not one (the full check then says why). */
function statKey(path: string): string | null {
  try {
    const st = lstatSync(path, { bigint: true });
    return st.isFile() ? `${st.ino}:${st.size}:${st.ctimeNs}:${st.mtimeNs}` : null;
  } catch {
    return null;
  }
}
export const LOCK_FILE = 'lock';

/** The identity as stored: the symbol table lives in its own file. */
type StoredIdentity = Omit<MockIdentity, 'symbols'> & {
  readonly symbols: { readonly file: string; readonly sha256: string; readonly count: number } | null;
};

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

/** The largest state.json read (it holds the payload models and up to 10,000 hook calls). */
const MAX_STATE_BYTES = 256 * 1024 * 1024;
const MAX_SYMBOLS_BYTES = 64 * 1024 * 1024;
const BLOB_NAME = /^[0-9a-f]{64}$/;
/** What a mock state directory may hold besides state.json: its files, the lock's, xlp's own state (`workflow/`). */
const OWNED_ENTRY =
  /^(?:state\.json|symbols\.json|payloads|lock|lock\.break|workflow|\.(?:state\.json|symbols\.json|lock|lock\.break)\..+)$/;

export class StateDirectory {
  readonly stateFile: string;
  readonly lockFile: string;
  private cached: { stat: { ino: bigint; size: bigint; mtimeNs: bigint }; loaded: Loaded } | null = null;
  private symbolsCache: { sha256: string; table: SymbolTable } | null = null;
  /** Blobs whose bytes were found to match their name in this process. */
  private readonly verifiedBlobs = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly options: StoreOptions = {},
  ) {
    this.stateFile = join(dir, STATE_FILE);
    this.lockFile = join(dir, LOCK_FILE);
  }

  private notInitialized(): MockStateError {
    return new MockStateError(
      'not-initialized',
      this.dir,
      `no mock hypervisor in ${this.dir} (create one with \`xlp mock init --mock-state ${this.dir}\`)`,
    );
  }

  private async checkDir(): Promise<void> {
    try {
      await checkPrivateDir(this.dir);
    } catch (e) {
      if (e instanceof PrivateDirError) throw new MockStateError('unsafe', this.dir, e.message, { cause: e });
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw this.notInitialized();
      throw e;
    }
  }

  private lock(purpose: string) {
    return acquireLock(this.lockFile, { timeoutMs: this.options.lockTimeoutMs ?? 10_000, purpose });
  }

  /**
   * Whether state.json is a mock state of ours (readable or damaged), absent, or someone else's
   * file. Read without following a symlink.
   */
  private async stateFileKind(): Promise<'ours' | 'absent' | 'foreign'> {
    let data: Buffer | null;
    try {
      data = await readPrivateFile(this.stateFile, { maxBytes: MAX_STATE_BYTES });
    } catch (e) {
      throw this.fileError(e);
    }
    if (data === null) return 'absent';
    // The magic is what makes it ours; anything else in that file is not ours to replace.
    try {
      const raw = JSON.parse(data.toString('utf8')) as unknown;
      return isPlainObject(raw) && raw.magic === STATE_MAGIC ? 'ours' : 'foreign';
    } catch {
      return data.includes(`"magic":"${STATE_MAGIC}"`) || data.includes(`"magic": "${STATE_MAGIC}"`) ? 'ours' : 'foreign';
    }
  }

  /**
   * Refuses a directory that holds anything but a mock's own files: `mock init` must never take
   * over (and later clean up) a directory that is something else.
   */
  private async checkOnlyOurs(): Promise<void> {
    const entries = await readdir(this.dir);
    const foreign = entries.filter((e) => !OWNED_ENTRY.test(e));
    if (foreign.length) {
      const shown =
        foreign
          .slice(0, 5)
          .map((e) => JSON.stringify(e))
          .join(', ') + (foreign.length > 5 ? `, and ${foreign.length - 5} more` : '');
      throw new MockStateError(
        'not-empty',
        this.dir,
        `${this.dir} is not empty and holds no mock hypervisor (it ` + `has ${shown}); refusing to use it: choose a new or empty directory`,
      );
    }
    // payloads/ holds only blobs named by their SHA-256 (and temporary files while one is written).
    const blobs = join(this.dir, PAYLOAD_DIR);
    const kind = await this.subdirKind(blobs);
    if (kind === 'dir') {
      const other = (await readdir(blobs)).filter((e) => !BLOB_NAME.test(e) && !e.startsWith('.'));
      if (other.length)
        throw new MockStateError(
          'not-empty',
          this.dir,
          `${blobs} holds files that are not payloads of a mock ` +
            `(${other
              .slice(0, 5)
              .map((e) => JSON.stringify(e))
              .join(', ')}); refusing to use ${this.dir}`,
        );
    }
  }

  /** Creates the directory's state. Refuses to overwrite one unless `force`, and never another program's files. */
  async init(identity: MockIdentity, machine: MachineState, options: { force?: boolean } = {}): Promise<void> {
    try {
      await ensurePrivateDir(this.dir);
    } catch (e) {
      if (e instanceof PrivateDirError) throw new MockStateError('unsafe', this.dir, e.message, { cause: e });
      throw e;
    }
    // Decided before the lock file is created in it: a directory that is not ours gets nothing written.
    const before = await this.stateFileKind();
    if (before === 'foreign') throw this.foreign();
    if (before === 'absent') await this.checkOnlyOurs();
    const lock = await this.lock('mock init');
    try {
      const kind = await this.stateFileKind();
      if (kind === 'foreign') throw this.foreign();
      if (kind === 'ours' && !options.force) {
        throw new MockStateError(
          'already-initialized',
          this.dir,
          `${this.dir} already holds a mock hypervisor (use --force to replace it)`,
        );
      }
      // The previous payloads' blobs go with the sweep after the save: only files named as ours.
      await this.save({ identity, machine }, new Map());
    } finally {
      await lock.release();
    }
  }

  private foreign(): MockStateError {
    return new MockStateError(
      'foreign',
      this.stateFile,
      `${this.stateFile} is not a xen-livepatch mock state ` + `(no "${STATE_MAGIC}" magic); refusing to touch it`,
    );
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

  private corrupt(why: string, cause?: unknown, file = this.stateFile): MockStateError {
    return new MockStateError(
      'corrupt',
      file,
      `mock state ${file} is damaged: ${why}; it was left as it is (move it away, ` +
        `or run \`xlp mock init --force --mock-state ${this.dir}\` to start afresh)`,
      { cause },
    );
  }

  /** A state file that cannot be read safely, as the store's error. */
  private fileError(e: unknown): Error {
    if (!(e instanceof PrivateFileError)) return e instanceof Error ? e : new Error(String(e));
    if (e.problem === 'too-large' || e.problem === 'unreadable') return this.corrupt(e.message, e, e.path);
    return new MockStateError('unsafe', e.path, `${e.message}; refusing to use it`, { cause: e });
  }

  /** A subdirectory of the state directory: absent, or a private directory (never a symlink). */
  private async subdirKind(path: string): Promise<'absent' | 'dir'> {
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw e;
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    if (st.isSymbolicLink() || !st.isDirectory() || (uid !== null && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      throw new MockStateError(
        'unsafe',
        path,
        `${path} is not a private directory of this user (a symlink, another ` +
          `file type, another owner, or writable by others); refusing to use it`,
      );
    }
    return 'dir';
  }

  private async load(): Promise<Loaded> {
    let st;
    try {
      st = lstatSync(this.stateFile, { bigint: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw this.notInitialized();
      throw e;
    }
    const key = { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
    if (this.cached && sameFile(this.cached.stat, key) && st.isFile()) return this.cached.loaded;

    let data: Buffer | null;
    try {
      data = await readPrivateFile(this.stateFile, { maxBytes: MAX_STATE_BYTES });
    } catch (e) {
      throw this.fileError(e);
    }
    if (data === null) throw this.notInitialized();
    let raw: unknown;
    try {
      raw = decodeJson(data.toString('utf8'));
    } catch (e) {
      throw this.corrupt('not valid JSON', e);
    }
    if (!isPlainObject(raw) || raw.magic !== STATE_MAGIC) throw this.foreign();
    if (raw.schema !== STATE_SCHEMA) {
      throw new MockStateError(
        'schema-version',
        this.stateFile,
        `${this.stateFile} has state schema ${JSON.stringify(raw.schema) ?? 'none'}; ` +
          `this version of xen-livepatch reads schema ${STATE_SCHEMA}`,
      );
    }
    let id: ReturnType<typeof decodeStoredIdentity>;
    let machine: MachineState;
    try {
      id = decodeStoredIdentity(raw.identity);
      machine = decodeMachine(raw.machine);
    } catch (e) {
      if (e instanceof DecodeError) throw this.corrupt(e.message, e);
      throw e;
    }
    await this.verifyBlobs(machine);
    const identity: MockIdentity = { ...id, symbols: await this.loadSymbols(id.symbols) };
    const loaded = { identity, machine };
    this.cached = { stat: key, loaded };
    return loaded;
  }

  /**
   * Every payload's bytes are there, in a private payloads/ directory, and hash to their name. A
   * blob whose file is, by its stat key, the very file an earlier check hashed (VERIFIED_FILE) is
   * not read and hashed again: any write to it changes its ctime, which no one can set back.
   */
  private async verifyBlobs(machine: MachineState): Promise<void> {
    if (machine.payloads.length === 0) return;
    const dir = join(this.dir, PAYLOAD_DIR);
    await this.subdirKind(dir);
    const known = await this.readVerifiedKeys(dir);
    const checked = new Map<string, string>();
    for (const p of machine.payloads) {
      if (this.verifiedBlobs.has(p.sha256)) continue;
      const file = join(dir, p.sha256);
      const key = statKey(file);
      if (key !== null && known.get(p.sha256) === key && key.split(':')[1] === String(p.payload.size)) {
        this.verifiedBlobs.add(p.sha256);
        continue;
      }
      let bytes: Buffer | null;
      try {
        bytes = await readPrivateFile(file, { maxBytes: PAYLOAD_MAX_SIZE });
      } catch (e) {
        throw this.fileError(e);
      }
      if (bytes === null) throw this.corrupt(`the bytes of payload ${JSON.stringify(p.name)} (${PAYLOAD_DIR}/${p.sha256}) are missing`);
      if (sha256Hex(bytes) !== p.sha256) {
        throw this.corrupt(
          `the bytes of payload ${JSON.stringify(p.name)} ` + `(${PAYLOAD_DIR}/${p.sha256}) do not match their SHA-256: they were altered`,
        );
      }
      if (bytes.length !== p.payload.size)
        throw this.corrupt(
          `payload ${JSON.stringify(p.name)} is recorded ` + `as ${p.payload.size} bytes but its file has ${bytes.length}`,
        );
      this.verifiedBlobs.add(p.sha256);
      if (key !== null) checked.set(p.sha256, key);
    }
    if (checked.size > 0) {
      const keys = new Map([...known].filter(([sha]) => machine.payloads.some((p) => p.sha256 === sha)));
      for (const [sha, key] of checked) keys.set(sha, key);
      await this.writeVerifiedKeys(dir, keys);
    }
  }

  /** The stat keys of blobs hashed before (VERIFIED_FILE): a cache, so anything odd about it reads as empty. */
  private async readVerifiedKeys(dir: string): Promise<Map<string, string>> {
    let data: Buffer | null;
    try {
      data = await readPrivateFile(join(dir, VERIFIED_FILE), { maxBytes: 1024 * 1024 });
    } catch {
      return new Map();
    }
    if (data === null) return new Map();
    try {
      const doc = JSON.parse(data.toString('utf8')) as unknown;
      if (!isPlainObject(doc) || doc.version !== 1 || !isPlainObject(doc.blobs)) return new Map();
      return new Map(
        Object.entries(doc.blobs).filter(
          (e): e is [string, string] => BLOB_NAME.test(e[0]) && typeof e[1] === 'string' && /^\d+:\d+:\d+:\d+$/.test(e[1]),
        ),
      );
    } catch {
      return new Map();
    }
  }

  /** Best effort: a cache that cannot be written only means the blobs are hashed again next time. */
  private async writeVerifiedKeys(dir: string, keys: ReadonlyMap<string, string>): Promise<void> {
    try {
      await writeFileAtomic(join(dir, VERIFIED_FILE), `${JSON.stringify({ version: 1, blobs: Object.fromEntries(keys) })}\n`, {
        durable: false,
      });
    } catch {
      // see above
    }
  }

  private async loadSymbols(
    ref: { readonly file: string; readonly sha256: string; readonly count: number } | null,
  ): Promise<SymbolTable | null> {
    if (!ref) return null;
    if (this.symbolsCache?.sha256 === ref.sha256) return this.symbolsCache.table;
    const path = join(this.dir, SYMBOLS_FILE);
    let data: Buffer | null;
    try {
      data = await readPrivateFile(path, { maxBytes: MAX_SYMBOLS_BYTES });
    } catch (e) {
      throw this.fileError(e);
    }
    if (data === null) throw this.corrupt(`the symbol table ${SYMBOLS_FILE} is missing`);
    if (sha256Hex(data) !== ref.sha256) throw this.corrupt(`the symbol table ${SYMBOLS_FILE} was altered`);
    let table: SymbolTable;
    try {
      table = decodeSymbols(parseJson(data.toString('utf8'), SYMBOLS_FILE), SYMBOLS_FILE);
    } catch (e) {
      if (e instanceof DecodeError) throw this.corrupt(e.message, e, path);
      throw e;
    }
    if (table.size !== ref.count)
      throw this.corrupt(`the symbol table ${SYMBOLS_FILE} has ${table.size} symbols, not the ${ref.count} recorded`, undefined, path);
    this.symbolsCache = { sha256: ref.sha256, table };
    return table;
  }

  private async save(loaded: Loaded, blobs: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const durable = this.options.durable ?? true;
    const { symbols, ...rest } = loaded.identity;
    let symbolsRef: StoredIdentity['symbols'] = null;
    if (symbols) {
      const text = JSON.stringify(Object.fromEntries([...symbols].map(([k, v]) => [k, v.toString(16)])));
      const sha256 = sha256Hex(text);
      if (this.symbolsCache?.sha256 !== sha256 || !(await this.exists(join(this.dir, SYMBOLS_FILE)))) {
        await writeFileAtomic(join(this.dir, SYMBOLS_FILE), text, { durable });
        this.symbolsCache = { sha256, table: symbols };
      }
      symbolsRef = { file: SYMBOLS_FILE, sha256, count: symbols.size };
    }
    // Payload bytes first, so the state never names a file that is not there.
    if (blobs.size) {
      const dir = join(this.dir, PAYLOAD_DIR);
      if ((await this.subdirKind(dir)) === 'absent') mkdirSync(dir, { mode: 0o700 });
      await this.subdirKind(dir);
      for (const [sha, bytes] of blobs) {
        const path = join(dir, sha);
        // An existing file of that name is replaced unless it already holds these very bytes.
        if (!this.verifiedBlobs.has(sha) || !(await this.exists(path))) await writeFileAtomic(path, bytes, { durable });
        this.verifiedBlobs.add(sha);
      }
    }
    const file: StateFile = {
      magic: STATE_MAGIC,
      schema: STATE_SCHEMA,
      identity: { ...rest, symbols: symbolsRef },
      machine: loaded.machine,
    };
    await writeFileAtomic(this.stateFile, encodeJson(file), { durable });
    const st = lstatSync(this.stateFile, { bigint: true });
    this.cached = { stat: { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs }, loaded };
    await this.sweepBlobs(loaded.machine);
  }

  private async exists(path: string): Promise<boolean> {
    try {
      lstatSync(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Deletes payload files no payload refers to any more (after an unload, or left by a crash): only files named as blobs. */
  private async sweepBlobs(machine: MachineState): Promise<void> {
    const dir = join(this.dir, PAYLOAD_DIR);
    if ((await this.subdirKind(dir)) === 'absent') return;
    const used = new Set(machine.payloads.map((p) => p.sha256));
    const files = readdirSync(dir).filter((f) => BLOB_NAME.test(f));
    if (files.length <= used.size) return;
    for (const f of files) {
      if (used.has(f)) continue;
      rmSync(join(dir, f), { force: true });
      this.verifiedBlobs.delete(f);
    }
  }
}
