/**
 * The trust directory: the public keys whose signatures xlp accepts on payloads. Anyone who can
 * add a key there can have any payload patched into the hypervisor, so the directory is checked as
 * the state directory is (a real directory owned by root or by this user, writable by nobody else,
 * under ancestors nobody else can swap), and so is every file in it. Each file holds one PEM SPKI
 * public key (`-----BEGIN PUBLIC KEY-----`, what `openssl pkey -pubout` writes) of a kind xlp
 * verifies: RSA of at least 2048 bits (PKCS#1 v1.5 with SHA-256), ECDSA on P-256 (SHA-256, DER
 * signatures) or Ed25519. Anything else in the directory is refused by name rather than skipped:
 * a key an operator believes trusted but xlp silently ignores would be worse than an error.
 */
import type { KeyObject } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nodeCrypto, sha256Hex } from '../fs/lazy-crypto.js';
import { checkAncestors, PrivateDirError } from '../fs/private-dir.js';
import { PrivateFileError, readPrivateFile } from '../fs/private-file.js';
import { LifecycleError } from './errors.js';

/** Where the trusted keys live unless the caller says otherwise. */
export const DEFAULT_TRUST_DIR = '/etc/xen-livepatch/trusted-keys';

/** The signature schemes xlp verifies, named after the key and the digest. */
export type SignatureAlgorithm = 'rsa-sha256' | 'ecdsa-p256-sha256' | 'ed25519';

/** Every signature algorithm, in a stable order. */
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['rsa-sha256', 'ecdsa-p256-sha256', 'ed25519'];

/** The smallest RSA modulus accepted, in bits. */
export const RSA_MIN_BITS = 2048;

/** The largest key file read, in bytes (a PEM RSA-16384 public key is about 2.8 KiB). */
export const KEY_FILE_MAX_BYTES = 64 * 1024;

/** One trusted public key. */
export interface TrustedKey {
  /** The key file's path. */
  readonly file: string;
  /** SHA-256 of the key's DER SubjectPublicKeyInfo, in lowercase hex (`openssl pkey -pubin -outform DER | sha256sum`). */
  readonly keyId: string;
  readonly algorithm: SignatureAlgorithm;
  /** RSA: the modulus size in bits; null for the other kinds. */
  readonly rsaBits: number | null;
  readonly key: KeyObject;
}

/** What the trust directory holds. No keys means no signature policy. */
export interface TrustedKeySet {
  readonly dir: string;
  /** The keys, by file name order; empty when the directory is absent or empty. */
  readonly keys: readonly TrustedKey[];
}

/** Why the trust directory itself cannot be used. */
export type TrustDirProblem =
  'symlink' | 'not-a-directory' | 'foreign-owner' | 'group-or-world-writable' | 'unsafe-ancestor' | 'unreadable';

/** The trust directory cannot be trusted or read: no payload can be checked against it. */
export class TrustDirError extends LifecycleError {
  override readonly name = 'TrustDirError';
  readonly code = 'ETRUSTDIR';
  readonly category = 'failed' as const;

  constructor(
    readonly path: string,
    readonly problem: TrustDirProblem,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { file: path, ...options });
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem };
  }
}

/** Why a file of the trust directory is not a key xlp can use. */
export type TrustedKeyProblem =
  /** A symlink, not a regular file, another user's (neither root nor this user), or writable by others. */
  | 'unsafe'
  | 'too-large'
  | 'unreadable'
  /** No PEM SPKI public key in it (another PEM type, or damaged). */
  | 'not-a-public-key'
  | 'private-key'
  | 'certificate'
  /** More than one PEM block: one key per file. */
  | 'several-keys'
  /** A public key of a kind xlp does not verify (DSA, RSA-PSS, Ed448, another curve...). */
  | 'unsupported-algorithm'
  /** RSA with fewer than 2048 bits. */
  | 'weak-key';

/** A file of the trust directory is not a usable public key. */
export class TrustedKeyError extends LifecycleError {
  override readonly name = 'TrustedKeyError';
  readonly code = 'ETRUSTEDKEY';
  readonly category = 'failed' as const;

  constructor(
    file: string,
    readonly problem: TrustedKeyProblem,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { file, ...options });
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem };
  }
}

/** Options of `loadTrustedKeys`. */
export interface TrustOptions {
  /** The user besides root who may own the directory and its files (default: this process's uid; null: no owner check). */
  readonly uid?: number | null;
}

function currentUid(options: TrustOptions): number | null {
  if (options.uid !== undefined) return options.uid;
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

const ownerOk = (owner: number, uid: number | null): boolean => uid === null || owner === 0 || owner === uid;
const mode = (m: number): string => (m & 0o7777).toString(8);

async function checkTrustDir(dir: string, uid: number | null): Promise<boolean> {
  let s;
  try {
    s = await lstat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    throw new TrustDirError(dir, 'unreadable', `the trust directory ${dir} cannot be read (${code ?? String(error)})`, { cause: error });
  }
  if (s.isSymbolicLink())
    throw new TrustDirError(
      dir,
      'symlink',
      `the trust directory ${dir} is a symbolic link; refusing ` + `to trust the keys it leads to (make it a real directory)`,
    );
  if (!s.isDirectory()) throw new TrustDirError(dir, 'not-a-directory', `the trust directory ${dir} is not a directory`);
  if (!ownerOk(s.uid, uid)) {
    throw new TrustDirError(
      dir,
      'foreign-owner',
      `the trust directory ${dir} belongs to uid ${s.uid}, neither root nor ` +
        `this user (uid ${uid}), who could add keys to it; refusing to use it`,
    );
  }
  if ((s.mode & 0o022) !== 0) {
    throw new TrustDirError(
      dir,
      'group-or-world-writable',
      `the trust directory ${dir} is writable by other users (mode ${mode(s.mode)}), ` +
        `who could add keys to it; refusing to use it (chmod go-w)`,
    );
  }
  try {
    await checkAncestors(dir, { uid });
  } catch (error) {
    if (!(error instanceof PrivateDirError)) throw error;
    throw new TrustDirError(
      dir,
      error.problem === 'not-a-directory' ? 'not-a-directory' : 'unsafe-ancestor',
      `the trust directory cannot be used: ${error.message}`,
      { cause: error },
    );
  }
  return true;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const PRIVATE_LABELS = new Set([
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
  'DSA PRIVATE KEY',
  'OPENSSH PRIVATE KEY',
]);

/** The key of one PEM file's text, or the reason it is not one xlp trusts. */
export function parseTrustedKey(file: string, text: string): TrustedKey {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new TrustedKeyError(
      file,
      'not-a-public-key',
      `${file} holds no PEM block; the trust directory holds only public keys ` +
        `as \`openssl pkey -pubout\` writes them (-----BEGIN PUBLIC KEY-----)`,
    );
  }
  if (blocks.length > 1)
    throw new TrustedKeyError(file, 'several-keys', `${file} holds ${blocks.length} PEM blocks; put one public key in each file`);
  const label = blocks[0]![1]!;
  if (PRIVATE_LABELS.has(label)) {
    throw new TrustedKeyError(
      file,
      'private-key',
      `${file} holds a private key (${label}); only public keys belong in the trust directory: keep ` +
        `the private key where payloads are signed, and put \`openssl pkey -in KEY -pubout\` here`,
    );
  }
  if (label === 'CERTIFICATE') {
    throw new TrustedKeyError(
      file,
      'certificate',
      `${file} holds a certificate; the trust directory holds bare ` + `public keys: \`openssl x509 -in CERT -pubkey -noout\` extracts it`,
    );
  }
  if (label !== 'PUBLIC KEY') {
    const hint =
      label === 'RSA PUBLIC KEY' ? ' (this is the PKCS#1 form: `openssl rsa -RSAPublicKey_in -in FILE -pubout` converts it)' : '';
    throw new TrustedKeyError(
      file,
      'not-a-public-key',
      `${file} holds a PEM "${label}" block, not a PEM ` + `SPKI public key (-----BEGIN PUBLIC KEY-----)${hint}`,
    );
  }
  let key: KeyObject;
  try {
    key = nodeCrypto().createPublicKey({ key: blocks[0]![0], format: 'pem' });
  } catch (error) {
    throw new TrustedKeyError(
      file,
      'not-a-public-key',
      `${file} is not a readable public key (${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  }
  const keyId = sha256Hex(key.export({ type: 'spki', format: 'der' }));
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < RSA_MIN_BITS)
        throw new TrustedKeyError(
          file,
          'weak-key',
          `${file} is an RSA key of ${bits} bits; xlp trusts RSA keys of at least ${RSA_MIN_BITS} bits`,
        );
      return { file, keyId, algorithm: 'rsa-sha256', rsaBits: bits, key };
    }
    case 'ec':
      if (details.namedCurve !== 'prime256v1') {
        throw new TrustedKeyError(
          file,
          'unsupported-algorithm',
          `${file} is an ECDSA key on curve ${details.namedCurve ?? 'unknown'}; ` + `xlp verifies ECDSA on P-256 (prime256v1) only`,
        );
      }
      return { file, keyId, algorithm: 'ecdsa-p256-sha256', rsaBits: null, key };
    case 'ed25519':
      return { file, keyId, algorithm: 'ed25519', rsaBits: null, key };
    default:
      throw new TrustedKeyError(
        file,
        'unsupported-algorithm',
        `${file} is a ${key.asymmetricKeyType ?? 'unknown'} public key; xlp verifies ` +
          `RSA (PKCS#1 v1.5, SHA-256), ECDSA P-256 (SHA-256) and Ed25519 signatures only`,
      );
  }
}

async function readKeyFile(file: string, uid: number | null): Promise<TrustedKey> {
  const s = await lstat(file);
  if (s.isSymbolicLink())
    throw new TrustedKeyError(file, 'unsafe', `${file} is a symbolic link; the trust directory holds key files themselves`);
  if (!s.isFile())
    throw new TrustedKeyError(file, 'unsafe', `${file} is not a regular file; the trust directory holds only public key files`);
  if (!ownerOk(s.uid, uid))
    throw new TrustedKeyError(
      file,
      'unsafe',
      `${file} belongs to uid ${s.uid}, neither root nor this user (uid ${uid}); refusing to trust it`,
    );
  if ((s.mode & 0o022) !== 0)
    throw new TrustedKeyError(
      file,
      'unsafe',
      `${file} is writable by other users (mode ${mode(s.mode)}); refusing to trust it (chmod go-w)`,
    );
  let data: Buffer | null;
  try {
    // The owner seen above must still own what is opened (no swap in between): the read checks it again.
    data = await readPrivateFile(file, { maxBytes: KEY_FILE_MAX_BYTES, uid: uid === null ? null : s.uid });
  } catch (error) {
    if (!(error instanceof PrivateFileError)) throw error;
    const problem: TrustedKeyProblem =
      error.problem === 'too-large' ? 'too-large' : error.problem === 'unreadable' ? 'unreadable' : 'unsafe';
    throw new TrustedKeyError(file, problem, `trusted key ${file} cannot be used: ${error.message}`, { cause: error });
  }
  if (data === null) throw new TrustedKeyError(file, 'unreadable', `trusted key ${file} disappeared while the trust directory was read`);
  return parseTrustedKey(file, data.toString('utf8'));
}

/**
 * Reads the trust directory. Absent or empty: no keys (no signature policy). Otherwise every entry
 * must be a usable public key file; the first that is not is a `TrustedKeyError` naming it, and a
 * directory that cannot be trusted is a `TrustDirError`.
 */
export async function loadTrustedKeys(dir: string = DEFAULT_TRUST_DIR, options: TrustOptions = {}): Promise<TrustedKeySet> {
  const path = resolve(dir);
  const uid = currentUid(options);
  if (!(await checkTrustDir(path, uid))) return { dir: path, keys: [] };
  let names: string[];
  try {
    names = (await readdir(path)).sort();
  } catch (error) {
    throw new TrustDirError(
      path,
      'unreadable',
      `the trust directory ${path} cannot be listed ` + `(${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
  const keys: TrustedKey[] = [];
  for (const name of names) keys.push(await readKeyFile(join(path, name), uid));
  return { dir: path, keys };
}

/** A short description of a key for messages: "RSA-3072 key 1f2e... (ops.pem)". */
export function describeKey(key: TrustedKey): string {
  const kind = key.algorithm === 'rsa-sha256' ? `RSA-${key.rsaBits}` : key.algorithm === 'ed25519' ? 'Ed25519' : 'ECDSA P-256';
  const base = key.file.slice(key.file.lastIndexOf('/') + 1);
  return `${kind} key ${key.keyId.slice(0, 16)} (${base})`;
}
