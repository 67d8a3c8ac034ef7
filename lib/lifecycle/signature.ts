/**
 * The signature policy: when the trust directory holds keys, a payload is accepted only with a
 * detached signature (`FILE.sig`, raw bytes as openssl writes them) that one of those keys
 * verifies over the payload's bytes. The caller reads the payload once and passes those bytes, so
 * what is verified is what gets stored and uploaded.
 *
 * A failed verification has three honest outcomes. `missing`: there is no signature. `unknown-key`:
 * the signature cannot have come from any trusted key, because its shape fits none of them (an
 * Ed25519 signature is 64 bytes, an ECDSA one is DER, an RSA one is as long as its key's modulus).
 * `bad`: some trusted key could have made a signature of that shape, yet none verifies it. A
 * signature carries no key id, so `bad` cannot tell a payload changed after signing from a
 * signature by an untrusted key of the same kind and size, or a damaged signature.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { nodeCrypto } from '../fs/lazy-crypto.js';
import { LifecycleError } from './errors.js';
import { describeKey, type SignatureAlgorithm, type TrustedKey, type TrustedKeySet } from './trusted-keys.js';

/** The detached signature of `payload.livepatch` is `payload.livepatch.sig`. */
export const SIGNATURE_SUFFIX = '.sig';

/** The largest signature file read: far more than an RSA-16384 signature (2 KiB). */
export const SIGNATURE_MAX_BYTES = 16 * 1024;

/** Where the detached signature of a payload file is looked for. */
export function signaturePathFor(payloadFile: string): string {
  return `${payloadFile}${SIGNATURE_SUFFIX}`;
}

/** What the policy says of one payload's bytes and its detached signature. */
export type SignatureVerdict =
  /** The trust directory holds no keys: nothing is required and nothing was checked. */
  | { readonly status: 'no-policy'; readonly signature: 'present' | 'absent' }
  /** A trusted key verifies the signature. */
  | { readonly status: 'valid'; readonly keyId: string; readonly algorithm: SignatureAlgorithm; readonly keyFile: string }
  /** Keys are trusted and there is no signature. */
  | { readonly status: 'missing' }
  /** Trusted keys of the signature's shape exist, and none verifies it. */
  | { readonly status: 'bad'; readonly reason: string; readonly triedKeyIds: readonly string[] }
  /** The signature's shape fits no trusted key. */
  | { readonly status: 'unknown-key'; readonly reason: string };

/** The verdicts that refuse a payload. */
export type SignatureRefusal = 'missing' | 'bad' | 'unknown-key';

/** True for a DER `SEQUENCE { INTEGER r, INTEGER s }` of a size an ECDSA P-256 signature can have. */
export function isEcdsaP256DerShape(sig: Uint8Array): boolean {
  if (sig.length < 8 || sig.length > 72 || sig[0] !== 0x30 || sig[1] !== sig.length - 2) return false;
  let at = 2;
  for (let i = 0; i < 2; i++) {
    if (sig[at] !== 0x02) return false;
    const len = sig[at + 1] ?? 0;
    if (len < 1 || len > 33 || at + 2 + len > sig.length) return false;
    at += 2 + len;
  }
  return at === sig.length;
}

/** Whether `key` could have made a signature of this shape. */
export function signatureFitsKey(key: TrustedKey, sig: Uint8Array): boolean {
  switch (key.algorithm) {
    case 'ed25519':
      return sig.length === 64;
    case 'rsa-sha256':
      return key.rsaBits !== null && sig.length === Math.ceil(key.rsaBits / 8);
    case 'ecdsa-p256-sha256':
      return isEcdsaP256DerShape(sig);
  }
}

/** What a signature looks like, for messages. */
export function describeSignatureShape(sig: Uint8Array): string {
  const kinds: string[] = [];
  if (sig.length === 64) kinds.push('an Ed25519 signature');
  if (isEcdsaP256DerShape(sig)) kinds.push('a DER-encoded ECDSA P-256 signature');
  if (sig.length >= 256 && sig.length <= 2048) kinds.push(`an RSA-${sig.length * 8} signature`);
  const size = `${sig.length} byte${sig.length === 1 ? '' : 's'}`;
  if (kinds.length === 0)
    return (
      `${size}, the shape of no signature xlp verifies (Ed25519: 64 bytes; ` +
      `ECDSA P-256: DER, 8 to 72 bytes; RSA: as long as the key's modulus)`
    );
  return `${size}, the shape of ${kinds.join(' or ')}`;
}

function verifies(key: TrustedKey, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    switch (key.algorithm) {
      case 'ed25519':
        return nodeCrypto().verify(null, data, key.key, sig);
      case 'rsa-sha256':
        return nodeCrypto().verify('sha256', data, { key: key.key, padding: nodeCrypto().constants.RSA_PKCS1_PADDING }, sig);
      case 'ecdsa-p256-sha256':
        return nodeCrypto().verify('sha256', data, { key: key.key, dsaEncoding: 'der' }, sig);
    }
  } catch {
    // A signature the library cannot even parse verifies nothing.
    return false;
  }
}

function trustedKinds(keys: readonly TrustedKey[]): string {
  return keys.map(describeKey).join(', ');
}

/**
 * The policy's verdict on `data` (the payload's bytes, read once) and its detached signature
 * (null when there is none).
 */
export function verifySignature(trust: TrustedKeySet, data: Uint8Array, signature: Uint8Array | null): SignatureVerdict {
  if (trust.keys.length === 0) return { status: 'no-policy', signature: signature === null ? 'absent' : 'present' };
  if (signature === null) return { status: 'missing' };
  const candidates = trust.keys.filter((k) => signatureFitsKey(k, signature));
  if (candidates.length === 0) {
    return {
      status: 'unknown-key',
      reason:
        `the signature is ${describeSignatureShape(signature)}, which none ` +
        `of the trusted keys (${trustedKinds(trust.keys)}) can have made: ` +
        `it was made with a key that is not in ${trust.dir}, or it is damaged`,
    };
  }
  for (const key of candidates) {
    if (verifies(key, data, signature)) return { status: 'valid', keyId: key.keyId, algorithm: key.algorithm, keyFile: key.file };
  }
  return {
    status: 'bad',
    triedKeyIds: candidates.map((k) => k.keyId),
    reason:
      `no trusted key verifies it (the signature is ${describeSignatureShape(signature)}; ` +
      `tried the trusted keys that make such signatures: ${trustedKinds(candidates)}): ` +
      ('the payload changed after it was signed, the signature was made by another key of the ' +
        'same kind and size, or the signature is damaged; a signature alone cannot tell these apart'),
  };
}

/** A payload's signature was refused by the policy. */
export class SignatureRejectedError extends LifecycleError {
  override readonly name = 'SignatureRejectedError';
  readonly code = 'ESIGNATURE';
  readonly category = 'failed' as const;

  /** The signature file that was looked for (or read). */
  readonly signatureFile: string;

  constructor(
    readonly problem: SignatureRefusal,
    message: string,
    info: { payload?: string; file: string; signatureFile: string },
  ) {
    super(message, { ...(info.payload === undefined ? {} : { payload: info.payload }), file: info.file });
    this.signatureFile = info.signatureFile;
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem, signatureFile: this.signatureFile };
  }
}

/** Where a verdict applies, for the error's message. */
export interface SignatureSubject {
  /** The payload file (or the store's copy) whose bytes were verified. */
  readonly file: string;
  /** The signature file looked for. */
  readonly signatureFile: string;
  /** The payload's name, when known. */
  readonly payload?: string;
  /** The trust directory, for the `missing` message. */
  readonly trustDir: string;
}

/**
 * Passes a verdict that lets the payload through (`valid`, `no-policy`) and throws
 * `SignatureRejectedError` for the others, naming the file and the reason.
 */
export function requireAcceptedSignature(
  verdict: SignatureVerdict,
  subject: SignatureSubject,
): Extract<SignatureVerdict, { status: 'valid' | 'no-policy' }> {
  const where = {
    file: subject.file,
    signatureFile: subject.signatureFile,
    ...(subject.payload === undefined ? {} : { payload: subject.payload }),
  };
  switch (verdict.status) {
    case 'valid':
    case 'no-policy':
      return verdict;
    case 'missing':
      throw new SignatureRejectedError(
        'missing',
        `${subject.file} is not signed: ${subject.signatureFile} does not exist, ` +
          `and ${subject.trustDir} holds trusted keys, so every payload needs a valid detached signature`,
        where,
      );
    case 'unknown-key':
      throw new SignatureRejectedError('unknown-key', `${subject.signatureFile} is not from a trusted key: ${verdict.reason}`, where);
    case 'bad':
      throw new SignatureRejectedError('bad', `${subject.signatureFile} does not verify ${subject.file}: ${verdict.reason}`, where);
  }
}

/** Why a signature file cannot be read. */
export type SignatureFileProblem = 'not-a-file' | 'too-large' | 'unreadable';

/** A signature file exists but cannot be read as one. */
export class SignatureFileError extends LifecycleError {
  override readonly name = 'SignatureFileError';
  readonly code = 'ESIGFILE';
  readonly category = 'failed' as const;

  constructor(
    file: string,
    readonly problem: SignatureFileProblem,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { file, ...options });
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem };
  }
}

/**
 * The bytes of a detached signature file, or null when it does not exist. It is the operator's
 * input, like the payload file, so it may be a symlink; it must be a regular file (never a FIFO that
 * would block) of at most `SIGNATURE_MAX_BYTES`.
 */
export async function readSignatureFile(path: string): Promise<Uint8Array | null> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ENXIO' || e.code === 'ENODEV')
      throw new SignatureFileError(path, 'not-a-file', `signature ${path} is not a regular file`, { cause: e });
    throw new SignatureFileError(path, 'unreadable', `signature ${path} cannot be read (${e.code ?? e.message})`, { cause: e });
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new SignatureFileError(path, 'not-a-file', `signature ${path} is not a regular file`);
    if (s.size > SIGNATURE_MAX_BYTES)
      throw new SignatureFileError(
        path,
        'too-large',
        `signature ${path} is ${s.size} bytes; a signature xlp verifies is at most ${SIGNATURE_MAX_BYTES}`,
      );
    let data: Buffer;
    try {
      data = await fh.readFile();
    } catch (error) {
      throw new SignatureFileError(
        path,
        'unreadable',
        `signature ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { cause: error },
      );
    }
    if (data.length > SIGNATURE_MAX_BYTES)
      throw new SignatureFileError(path, 'too-large', `signature ${path} is more than the ${SIGNATURE_MAX_BYTES} bytes a signature can be`);
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } finally {
    await fh.close();
  }
}
