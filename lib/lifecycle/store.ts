/**
 * The store of installed patches: what `xlp install` keeps so that `xlp sync` (and the boot sync)
 * can bring a host's applied stack back to it. It lives under the state directory:
 *
 *     installed/.lock                           taken while a change is written
 *     installed/<xen-build-id>/manifest.json     the build's patches, in stack order
 *     installed/<xen-build-id>/<h>-<c>.livepatch a patch's bytes (h: hash of its name, c: of its content)
 *     installed/<xen-build-id>/<h>-<c>.sig       its detached signature, when it has one
 *
 * A change to a build (patches added, replaced, removed) is one unit: the new files are written
 * beside the old ones, then the manifest is replaced atomically (the commit point), then files no
 * manifest refers to are removed. A crash at any point leaves the old set or the new one, never a
 * mix; leftovers are removed by the next change. Everything read back is checked as untrusted
 * input: the manifest field by field, the bytes against the recorded size and SHA-256.
 */
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../fs/atomic-write.js';
import { withLock } from '../fs/lock.js';
import { checkPrivateDir, ensurePrivateDir } from '../fs/private-dir.js';
import { PrivateFileError, readPrivateFile } from '../fs/private-file.js';
import type { Payload } from '../payload/model.js';
import { validatePayloadName } from '../workflow/names.js';
import { readStateFile, StateFileError, type StateFileProblem } from '../workflow/state-file.js';
import { type BuildIdHex, PAYLOAD_MAX_SIZE } from '../xen/domain.js';
import { LifecycleError, quoteNames } from './errors.js';
import { dependantsOf, InstallOrderError, stackOrder } from './install-order.js';
import {
  BUILD_ID_PATTERN,
  type InstalledPatch,
  type InstalledSignature,
  type Manifest,
  MANIFEST_FILE,
  MANIFEST_MAX_BYTES,
  MANIFEST_VERSION,
  manifestDecoder,
  manifestInconsistency,
  payloadFileName,
  sha256Of,
  signatureFileName,
  STORE_FILE_PATTERN,
} from './manifest.js';
import { SIGNATURE_MAX_BYTES } from './signature.js';
import type { SignatureAlgorithm } from './trusted-keys.js';

/** The store's directory under a state directory. */
export const INSTALLED_DIR = 'installed';

const ADVICE = "move the build's directory away and install its patches again";

/** A file of the store is unsafe or damaged (the StateFileError of the installed patches). */
export class InstalledStoreError extends StateFileError {
  override readonly name = 'InstalledStoreError';
}

/** Why an install (or another change of the store) is refused. */
export type InstallProblem =
  /** A patch of that name is installed for the build with other bytes (replacing it was not asked for). */
  | 'name-taken'
  /** The payload's `.livepatch.xen_depends` is not the build it is installed for (or it has none). */
  | 'wrong-build'
  /** One name twice in one change. */
  | 'duplicate-name'
  /** The payload model was not read from these bytes, or the bytes are empty or too large for Xen. */
  | 'bad-input';

/** A change of the store is refused; nothing was written. */
export class InstallRefusedError extends LifecycleError {
  override readonly name = 'InstallRefusedError';
  readonly code = 'EINSTALL';
  readonly category: 'usage' | 'failed';

  constructor(
    readonly problem: InstallProblem,
    payload: string,
    message: string,
  ) {
    super(message, { payload });
    this.category = problem === 'duplicate-name' ? 'usage' : 'failed';
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem };
  }
}

/** A build-id given to the store is not lowercase hex of 1 to 128 bytes. */
export class InvalidBuildIdError extends LifecycleError {
  override readonly name = 'InvalidBuildIdError';
  readonly code = 'EINVAL';
  readonly category = 'usage' as const;

  constructor(readonly buildId: string) {
    super(`${JSON.stringify(buildId)} is not a build-id: expected lowercase hex, 1 to 128 bytes (as \`xlp list --installed\` prints them)`);
  }
}

/** The named patch is not installed for that build. */
export class NotInstalledError extends LifecycleError {
  override readonly name = 'NotInstalledError';
  readonly code = 'ENOTINSTALLED';
  readonly category = 'failed' as const;

  constructor(
    payload: string,
    readonly xenBuildId: BuildIdHex,
  ) {
    super(`${JSON.stringify(payload)} is not installed for Xen build ${xenBuildId}; \`xlp list --installed\` shows what is`, { payload });
  }

  protected override extra(): Record<string, unknown> {
    return { xenBuildId: this.xenBuildId };
  }
}

const itOrThem = (names: readonly string[]): string => (names.length === 1 ? 'it' : 'them');

/** Removing a patch would leave the patches built on it without their base. */
export class DependedOnError extends LifecycleError {
  override readonly name = 'DependedOnError';
  readonly code = 'EDEPENDED';
  readonly category = 'failed' as const;

  constructor(
    payload: string,
    readonly dependants: readonly string[],
  ) {
    super(
      `${quoteNames(dependants)} ${dependants.length === 1 ? 'depends' : 'depend'} on ${JSON.stringify(payload)}; ` +
        `uninstalling it alone would leave ${itOrThem(dependants)} without a base: uninstall ${itOrThem(dependants)} too (or with it)`,
      { payload },
    );
  }

  protected override extra(): Record<string, unknown> {
    return { dependants: this.dependants };
  }
}

/** A patch to install: its name, its bytes (read once) and what was read from them. */
export interface NewPatch {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The payload model read from `bytes`. */
  readonly payload: Payload;
  /** Its detached signature, with the trusted key that verified it (both null: no key was trusted). */
  readonly signature: { readonly bytes: Uint8Array; readonly keyId: string | null; readonly algorithm: SignatureAlgorithm | null } | null;
}

/** One change of a build's patches, committed as a unit. */
export interface StoreChange {
  readonly add?: readonly NewPatch[];
  /** Names to uninstall (each must be installed). */
  readonly remove?: readonly string[];
  /** A name installed with other bytes is replaced (default: refused). */
  readonly replace?: boolean;
  /** Check the change and say what it would do, writing nothing. */
  readonly dryRun?: boolean;
}

/** A build's installed patches. */
export interface InstalledBuild {
  readonly xenBuildId: BuildIdHex;
  /** Stack order, bottom first. */
  readonly patches: readonly InstalledPatch[];
}

/** What a change did. */
export interface CommitResult {
  /** Something was written (false: the store already held exactly this). */
  readonly changed: boolean;
  readonly added: readonly string[];
  readonly replaced: readonly string[];
  /** Already installed with these bytes (a new signature counts as `replaced`). */
  readonly unchanged: readonly string[];
  readonly removed: readonly string[];
  /** The build's patches after the change. */
  readonly build: InstalledBuild;
}

/** A patch read back, verified against what the manifest recorded. */
export interface StoredPayload {
  readonly patch: InstalledPatch;
  readonly bytes: Uint8Array;
  /** Its stored detached signature, or null. */
  readonly signature: Uint8Array | null;
  /** Where the bytes were read from (for messages). */
  readonly file: string;
  readonly signatureFile: string | null;
}

/** Options of the store. */
export interface StoreOptions {
  /** fsync what is written (default true; tests on throw-away directories may turn it off). */
  readonly durable?: boolean;
  /** How long a change waits for another one's lock, in ms (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** The clock for `installedAt` (tests). */
  readonly now?: () => Date;
}

function checkBuildId(id: string): asserts id is BuildIdHex {
  if (typeof id !== 'string' || !BUILD_ID_PATTERN.test(id)) throw new InvalidBuildIdError(String(id));
}

function storeError(file: string, problem: StateFileProblem, message: string, cause?: unknown): InstalledStoreError {
  return new InstalledStoreError(file, problem, message, cause === undefined ? undefined : { cause });
}

/** The installed patches of every Xen build, under `<stateDir>/installed`. */
export class InstalledStore {
  /** `<stateDir>/installed`. */
  readonly dir: string;
  private readonly durable: boolean;
  private readonly lockTimeoutMs: number;
  private readonly now: () => Date;

  constructor(stateDir: string, options: StoreOptions = {}) {
    this.dir = join(stateDir, INSTALLED_DIR);
    this.durable = options.durable ?? true;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.now = options.now ?? (() => new Date());
  }

  /** The directory of a build's patches. */
  buildDir(xenBuildId: BuildIdHex): string {
    checkBuildId(xenBuildId);
    return join(this.dir, xenBuildId);
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await lstat(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** The manifest of a build, checked; null when the build has none. */
  private async manifest(xenBuildId: BuildIdHex): Promise<Manifest | null> {
    const dir = this.buildDir(xenBuildId);
    if (!(await this.exists(this.dir)) || !(await this.exists(dir))) return null;
    await checkPrivateDir(dir);
    const file = join(dir, MANIFEST_FILE);
    const m = await readStateFile(file, manifestDecoder, {
      what: 'the manifest of installed patches',
      maxBytes: MANIFEST_MAX_BYTES,
      advice: ADVICE,
      error: InstalledStoreError,
    });
    if (!m) return null;
    const wrong = manifestInconsistency(m, xenBuildId);
    if (wrong) throw storeError(file, 'damaged', `the manifest of installed patches ${file} is damaged: ${wrong}; ${ADVICE}`);
    try {
      // The order was checked when it was written; a manifest edited since may no longer form a stack.
      stackOrder(xenBuildId, m.patches);
    } catch (error) {
      if (!(error instanceof InstallOrderError)) throw error;
      throw storeError(
        file,
        'damaged',
        `the manifest of installed patches ${file} is damaged: its ` + `patches no longer form one stack (${error.message}); ${ADVICE}`,
        error,
      );
    }
    return m;
  }

  /** The build-ids that have installed patches, sorted. */
  async builds(): Promise<BuildIdHex[]> {
    if (!(await this.exists(this.dir))) return [];
    await checkPrivateDir(this.dir);
    const out: BuildIdHex[] = [];
    for (const entry of (await readdir(this.dir)).sort()) {
      if (!BUILD_ID_PATTERN.test(entry)) continue;
      // A directory without a manifest is what an interrupted first install or last uninstall leaves.
      if (await this.exists(join(this.dir, entry, MANIFEST_FILE))) out.push(entry);
    }
    return out;
  }

  /** A build's installed patches in stack order; null when it has none. */
  async get(xenBuildId: BuildIdHex): Promise<InstalledBuild | null> {
    const m = await this.manifest(xenBuildId);
    return m && m.patches.length ? { xenBuildId, patches: stackOrder(xenBuildId, m.patches) } : null;
  }

  /** Every build's installed patches, builds sorted by build-id. */
  async list(): Promise<InstalledBuild[]> {
    const out: InstalledBuild[] = [];
    for (const id of await this.builds()) {
      const b = await this.get(id);
      if (b) out.push(b);
    }
    return out;
  }

  /** The builds that have a patch of this name installed. */
  async buildsWith(name: string): Promise<BuildIdHex[]> {
    return (await this.list()).filter((b) => b.patches.some((p) => p.name === name)).map((b) => b.xenBuildId);
  }

  /**
   * Applies one change to a build's patches, as a unit: everything is checked (names, the build
   * each payload is for, the order the new set forms) before anything is written, and the new set
   * replaces the old one at once. Installing a patch that is already there with the same bytes
   * changes nothing.
   */
  async commit(xenBuildId: BuildIdHex, change: StoreChange): Promise<CommitResult> {
    checkBuildId(xenBuildId);
    const adds = change.add ?? [];
    const removes = change.remove ?? [];
    const seen = new Set<string>();
    for (const p of adds) {
      validatePayloadName(p.name);
      if (seen.has(p.name))
        throw new InstallRefusedError('duplicate-name', p.name, `${JSON.stringify(p.name)} is given twice; install each name once`);
      seen.add(p.name);
      checkNewPatch(xenBuildId, p);
    }
    for (const name of removes) {
      if (seen.has(name))
        throw new InstallRefusedError('duplicate-name', name, `${JSON.stringify(name)} is both installed and uninstalled by one change`);
      seen.add(name);
    }
    // A dry run writes nothing, not even the store's directory or its lock.
    if (change.dryRun) return this.commitLocked(xenBuildId, adds, removes, change.replace ?? false, true);
    await ensurePrivateDir(this.dir);
    return withLock(
      join(this.dir, '.lock'),
      { timeoutMs: this.lockTimeoutMs, purpose: `change the installed patches of ${xenBuildId}` },
      () => this.commitLocked(xenBuildId, adds, removes, change.replace ?? false, change.dryRun ?? false),
    );
  }

  private async commitLocked(
    xenBuildId: BuildIdHex,
    adds: readonly NewPatch[],
    removes: readonly string[],
    replace: boolean,
    dryRun: boolean,
  ): Promise<CommitResult> {
    const current = await this.manifest(xenBuildId);
    const patches = new Map((current?.patches ?? []).map((p) => [p.name, p]));
    let nextSeq = current?.nextSeq ?? 1;
    const removed: string[] = [];
    for (const name of removes) {
      if (!patches.delete(name)) throw new NotInstalledError(name, xenBuildId);
      removed.push(name);
    }
    const added: string[] = [];
    const replaced: string[] = [];
    const unchanged: string[] = [];
    const blobs = new Map<string, Uint8Array>();
    const installedAt = this.now().toISOString();
    for (const p of adds) {
      const sha256 = sha256Of(p.bytes);
      const old = patches.get(p.name);
      if (old && old.sha256 !== sha256 && !replace) {
        throw new InstallRefusedError(
          'name-taken',
          p.name,
          `${JSON.stringify(p.name)} is already installed for Xen build ${xenBuildId} with other bytes ` +
            `(sha256 ${old.sha256.slice(0, 16)}…, installed ${old.installedAt}); replacing it must be asked for`,
        );
      }
      const signature = p.signature ? signatureEntry(p.name, p.signature) : null;
      if (old && old.sha256 === sha256 && sameSignature(old.signature, signature)) {
        unchanged.push(p.name);
        continue;
      }
      const entry = patchEntry(p, sha256, signature, old?.installSeq ?? nextSeq, installedAt);
      if (!old) nextSeq++;
      (old ? replaced : added).push(p.name);
      patches.set(p.name, entry);
      blobs.set(entry.file, p.bytes);
      if (signature && p.signature) blobs.set(signature.file, p.signature.bytes);
    }
    // The new set must form one stack before anything is written.
    const ordered = stackOrder(xenBuildId, [...patches.values()]);
    const build: InstalledBuild = { xenBuildId, patches: ordered };
    const changed = added.length + replaced.length + removed.length > 0;
    if (!changed || dryRun) return { changed, added, replaced, unchanged, removed, build };

    const dir = this.buildDir(xenBuildId);
    await ensurePrivateDir(dir);
    for (const [file, bytes] of blobs) await writeFileAtomic(join(dir, file), bytes, { durable: this.durable });
    const manifestPath = join(dir, MANIFEST_FILE);
    if (ordered.length) {
      const next: Manifest = { version: MANIFEST_VERSION, xenBuildId, nextSeq, patches: ordered };
      await writeFileAtomic(manifestPath, `${JSON.stringify(next, null, 2)}\n`, { durable: this.durable });
    } else {
      await rm(manifestPath, { force: true });
      if (this.durable) await syncDirectory(dir);
    }
    await this.collect(dir, ordered);
    return { changed, added, replaced, unchanged, removed, build };
  }

  /** Removes the files of a build's directory that its manifest does not refer to (and the directory once empty). */
  private async collect(dir: string, patches: readonly InstalledPatch[]): Promise<void> {
    const keep = new Set<string>([MANIFEST_FILE]);
    for (const p of patches) {
      keep.add(p.file);
      if (p.signature) keep.add(p.signature.file);
    }
    for (const f of await readdir(dir)) {
      // Ours: patch files, and temporary files an interrupted atomic write left behind.
      const ours = STORE_FILE_PATTERN.test(f) || /^\.(?:[0-9a-f]{32}-[0-9a-f]{16}\.(?:livepatch|sig)|manifest\.json)\.tmp-/.test(f);
      if (ours && !keep.has(f)) await rm(join(dir, f), { force: true });
    }
    if (patches.length === 0) await rmdir(dir).catch(() => undefined);
  }

  /**
   * Uninstalls one patch. When others depend on it, refused (`DependedOnError`) unless
   * `withDependants`, which uninstalls them too.
   */
  async uninstall(xenBuildId: BuildIdHex, name: string, options: { withDependants?: boolean } = {}): Promise<CommitResult> {
    const build = await this.get(xenBuildId);
    if (!build?.patches.some((p) => p.name === name)) throw new NotInstalledError(name, xenBuildId);
    const dependants = dependantsOf(xenBuildId, build.patches, name).map((p) => p.name);
    if (dependants.length && !options.withDependants) throw new DependedOnError(name, dependants);
    return this.commit(xenBuildId, { remove: [name, ...dependants] });
  }

  /**
   * A patch's bytes (and signature) read back and checked against the size and SHA-256 the
   * manifest recorded: an altered or missing file is an `InstalledStoreError` naming it.
   */
  async read(xenBuildId: BuildIdHex, name: string): Promise<StoredPayload> {
    const m = await this.manifest(xenBuildId);
    const patch = m?.patches.find((p) => p.name === name);
    if (!patch) throw new NotInstalledError(name, xenBuildId);
    const dir = this.buildDir(xenBuildId);
    const file = join(dir, patch.file);
    const bytes = await readVerified(file, patch.size, patch.sha256, PAYLOAD_MAX_SIZE, `the installed copy of ${JSON.stringify(name)}`);
    let signature: Uint8Array | null = null;
    let signatureFile: string | null = null;
    if (patch.signature) {
      signatureFile = join(dir, patch.signature.file);
      signature = await readVerified(
        signatureFile,
        patch.signature.size,
        patch.signature.sha256,
        SIGNATURE_MAX_BYTES,
        `the installed signature of ${JSON.stringify(name)}`,
      );
    }
    return { patch, bytes, signature, file, signatureFile };
  }
}

async function readVerified(file: string, size: number, sha256: string, maxBytes: number, what: string): Promise<Uint8Array> {
  let data: Buffer | null;
  try {
    data = await readPrivateFile(file, { maxBytes });
  } catch (error) {
    if (!(error instanceof PrivateFileError)) throw error;
    const problem: StateFileProblem = error.problem === 'too-large' || error.problem === 'unreadable' ? 'damaged' : 'unsafe';
    throw storeError(file, problem, `${what} cannot be used: ${error.message}; ${ADVICE}`, error);
  }
  if (data === null) throw storeError(file, 'damaged', `${what} is missing: ${file} does not exist; ${ADVICE}`);
  if (data.length !== size || sha256Of(data) !== sha256) {
    throw storeError(
      file,
      'damaged',
      `${what} was altered: ${file} is ${data.length} bytes with sha256 ${sha256Of(data).slice(0, 16)}…, ` +
        `the manifest recorded ${size} bytes with sha256 ${sha256.slice(0, 16)}…; ${ADVICE}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function checkNewPatch(xenBuildId: BuildIdHex, p: NewPatch): void {
  if (p.bytes.length === 0 || p.bytes.length > PAYLOAD_MAX_SIZE) {
    throw new InstallRefusedError(
      'bad-input',
      p.name,
      `${JSON.stringify(p.name)} is ${p.bytes.length} bytes; ` + `Xen takes payloads of 1 byte to ${PAYLOAD_MAX_SIZE}`,
    );
  }
  if (p.payload.size !== p.bytes.length) {
    throw new InstallRefusedError(
      'bad-input',
      p.name,
      `the payload model given for ${JSON.stringify(p.name)} was read ` + `from ${p.payload.size} bytes, not from its ${p.bytes.length}`,
    );
  }
  if (p.payload.xenDepends !== xenBuildId) {
    const has =
      p.payload.xenDepends === null ? 'has no readable .livepatch.xen_depends note' : `was built for Xen build ${p.payload.xenDepends}`;
    throw new InstallRefusedError(
      'wrong-build',
      p.name,
      `${JSON.stringify(p.name)} ${has}, so it cannot be installed for build ${xenBuildId}`,
    );
  }
  if (p.signature && (p.signature.bytes.length === 0 || p.signature.bytes.length > SIGNATURE_MAX_BYTES)) {
    throw new InstallRefusedError(
      'bad-input',
      p.name,
      `the signature of ${JSON.stringify(p.name)} is ${p.signature.bytes.length} ` + `bytes; a signature is 1 to ${SIGNATURE_MAX_BYTES}`,
    );
  }
  if (p.signature && (p.signature.keyId === null) !== (p.signature.algorithm === null)) {
    throw new InstallRefusedError(
      'bad-input',
      p.name,
      `the signature of ${JSON.stringify(p.name)} has a key id without an algorithm, or the reverse`,
    );
  }
}

function signatureEntry(name: string, sig: NonNullable<NewPatch['signature']>): InstalledSignature {
  const sha256 = sha256Of(sig.bytes);
  return { file: signatureFileName(name, sha256), sha256, size: sig.bytes.length, keyId: sig.keyId, algorithm: sig.algorithm };
}

function sameSignature(a: InstalledSignature | null, b: InstalledSignature | null): boolean {
  if (a === null || b === null) return a === b;
  return a.sha256 === b.sha256 && a.keyId === b.keyId && a.algorithm === b.algorithm;
}

function patchEntry(
  p: NewPatch,
  sha256: string,
  signature: InstalledSignature | null,
  installSeq: number,
  installedAt: string,
): InstalledPatch {
  const m = p.payload;
  return {
    name: p.name,
    file: payloadFileName(p.name, sha256),
    sha256,
    size: p.bytes.length,
    buildId: m.buildId,
    depends: m.depends,
    xenDepends: m.xenDepends!,
    modinfoSha256: sha256Of(m.modinfo?.raw ?? new Uint8Array(0)),
    installedAt,
    installSeq,
    hooks: m.hooks.filter((h) => !h.isNull).map((h) => ({ kind: h.kind, symbol: h.symbol })),
    vetoingHooks: [...m.vetoingHooks],
    safeToReapply: m.safeToReapply,
    signature,
  };
}
