/**
 * The manifest of one Xen build's installed patches (`installed/<xen-build-id>/manifest.json`):
 * its schema, its decoder (the file is untrusted input: every field is checked and the object
 * rebuilt from the checked fields) and the names of the files it refers to. Payload names never
 * become file names: a payload's bytes are stored under a hash of its name and of its content, so a
 * new version never overwrites the bytes the committed manifest still points to.
 */
import { sha256Hex as digest } from '../fs/lazy-crypto.js';
import { array, boolean, type Decoder, integer, literal, matching, nullable, object, string } from '../fs/decode.js';
import { workflowName } from '../workflow/state-file.js';
import { type BuildIdHex, HOOK_KINDS, type HookKind, PAYLOAD_MAX_SIZE } from '../xen/domain.js';
import { SIGNATURE_MAX_BYTES } from './signature.js';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './trusted-keys.js';

/** The manifest's schema version. */
export const MANIFEST_VERSION = 1;
/** The manifest's file name in a build's directory. */
export const MANIFEST_FILE = 'manifest.json';
/** The most patches one build may hold (far beyond any real stack; bounds what a damaged file can make xlp do). */
export const MAX_PATCHES_PER_BUILD = 4096;
/** The largest manifest read, in bytes. */
export const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

/** A build-id as the store spells it: lowercase hex, 1 to 128 bytes. */
export const BUILD_ID_PATTERN = /^(?:[0-9a-f]{2}){1,128}$/;

/** The detached signature stored with a patch. */
export interface InstalledSignature {
  /** Its file in the build's directory. */
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** The trusted key that verified it at install; null when no key was trusted then (not verified). */
  readonly keyId: string | null;
  readonly algorithm: SignatureAlgorithm | null;
}

/** One enabled hook of a patch (null pointers left out), as the payload registry records them. */
export interface InstalledHook {
  readonly kind: HookKind;
  readonly symbol: string | null;
}

/** One installed patch, as its build's manifest records it. */
export interface InstalledPatch {
  readonly name: string;
  /** Its bytes' file in the build's directory. */
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** `.note.gnu.build-id`. */
  readonly buildId: BuildIdHex | null;
  /** `.livepatch.depends`. */
  readonly depends: BuildIdHex | null;
  /** `.livepatch.xen_depends`: the build it is installed for. */
  readonly xenDepends: BuildIdHex;
  /** SHA-256 of its `.modinfo` bytes (empty without one), which LIST returns: tells a loaded namesake apart. */
  readonly modinfoSha256: string;
  /** ISO time of its install. */
  readonly installedAt: string;
  /** Increases with each install into this build; kept when the patch is replaced by a new version. */
  readonly installSeq: number;
  readonly hooks: readonly InstalledHook[];
  /** Pre/post hooks Xen would run: any makes REPLACE impossible. */
  readonly vetoingHooks: readonly HookKind[];
  /** Xen may apply it again after a revert (no writable data but `.livepatch.funcs`). */
  readonly safeToReapply: boolean;
  readonly signature: InstalledSignature | null;
}

/** A build's manifest. */
export interface Manifest {
  readonly version: typeof MANIFEST_VERSION;
  readonly xenBuildId: BuildIdHex;
  /** The next `installSeq` (never reused, even after uninstalls). */
  readonly nextSeq: number;
  /** The patches in stack order, bottom first. */
  readonly patches: readonly InstalledPatch[];
}

const sha256Hex = matching(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex');
const buildId = matching(BUILD_ID_PATTERN, 'a build-id in lowercase hex');
const hookKind = literal(...HOOK_KINDS);

/** The manifest decoder: shapes and ranges only (`checkManifest` checks what relates fields). */
export const manifestDecoder: Decoder<Manifest> = object({
  version: literal(MANIFEST_VERSION),
  xenBuildId: buildId,
  nextSeq: integer(1),
  patches: array(
    object({
      name: workflowName,
      file: matching(/^[0-9a-f]{32}-[0-9a-f]{16}\.livepatch$/, 'a payload file name of the store'),
      sha256: sha256Hex,
      size: integer(1, PAYLOAD_MAX_SIZE),
      buildId: nullable(buildId),
      depends: nullable(buildId),
      xenDepends: buildId,
      modinfoSha256: sha256Hex,
      installedAt: string(64),
      installSeq: integer(0),
      hooks: array(object({ kind: hookKind, symbol: nullable(string(4096)) }), 1 << 16),
      vetoingHooks: array(hookKind, 8),
      safeToReapply: boolean,
      signature: nullable(
        object({
          file: matching(/^[0-9a-f]{32}-[0-9a-f]{16}\.sig$/, 'a signature file name of the store'),
          sha256: sha256Hex,
          size: integer(1, SIGNATURE_MAX_BYTES),
          keyId: nullable(sha256Hex),
          algorithm: nullable(literal(...SIGNATURE_ALGORITHMS)),
        }),
      ),
    }),
    MAX_PATCHES_PER_BUILD,
  ),
}) as Decoder<Manifest>;

/** SHA-256 in lowercase hex. */
export function sha256Of(bytes: Uint8Array | string): string {
  return digest(bytes);
}

/** The stem of every file of a patch: a hash of its name (names may hold any character but NUL). */
export function nameStem(name: string): string {
  return sha256Of(name).slice(0, 32);
}

/** The file holding a patch's bytes. */
export function payloadFileName(name: string, sha256: string): string {
  return `${nameStem(name)}-${sha256.slice(0, 16)}.livepatch`;
}

/** The file holding a patch's detached signature. */
export function signatureFileName(name: string, signatureSha256: string): string {
  return `${nameStem(name)}-${signatureSha256.slice(0, 16)}.sig`;
}

/** Files the store writes into a build's directory (anything else there is left alone). */
export const STORE_FILE_PATTERN = /^[0-9a-f]{32}-[0-9a-f]{16}\.(?:livepatch|sig)$/;

/**
 * What relates the manifest's fields, or null when all holds: it is the manifest of `xenBuildId`,
 * every patch is for that build, file names are the ones the store derives, names are unique and
 * every `installSeq` is below `nextSeq`.
 */
export function manifestInconsistency(manifest: Manifest, xenBuildId: BuildIdHex): string | null {
  if (manifest.xenBuildId !== xenBuildId)
    return `it is the manifest of build ${manifest.xenBuildId}, found in the directory of ${xenBuildId}`;
  const names = new Set<string>();
  for (const [i, p] of manifest.patches.entries()) {
    const at = `patches[${i}] (${JSON.stringify(p.name)})`;
    if (names.has(p.name)) return `${at}: the name appears twice`;
    names.add(p.name);
    if (p.xenDepends !== xenBuildId) return `${at}: it is for build ${p.xenDepends}, not ${xenBuildId}`;
    if (p.file !== payloadFileName(p.name, p.sha256)) return `${at}: its file name ${p.file} is not the one its name and hash give`;
    if (p.signature && p.signature.file !== signatureFileName(p.name, p.signature.sha256))
      return `${at}: its signature file name ${p.signature.file} is not the one its name and hash give`;
    if ((p.signature?.keyId === null) !== (p.signature?.algorithm === null))
      return `${at}: its signature has a key id without an algorithm, or the reverse`;
    if (p.installSeq >= manifest.nextSeq) return `${at}: installSeq ${p.installSeq} is not below nextSeq ${manifest.nextSeq}`;
  }
  return null;
}
