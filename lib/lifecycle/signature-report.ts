/**
 * What `xlp check` says about a payload's signatures: the detached `FILE.sig` under the signature
 * policy (what install, upload, load and sync would decide), and the upstream proposal's
 * `.note.Xen.signature` note, as information only (no Xen release verifies it, and neither does xlp).
 */
import { embeddedSignatureOf, type EmbeddedSignature } from './embedded-signature.js';
import { readSignatureFile, signaturePathFor, verifySignature } from './signature.js';
import type { SignatureAlgorithm, TrustedKeySet } from './trusted-keys.js';

export interface SignatureReport {
  /** `required`: the trust directory holds keys, so install/upload/load/sync need a valid signature. */
  readonly policy: 'none' | 'required';
  /** The detached signature looked for. */
  readonly file: string;
  /**
   * No policy: `absent` or `present` (not checked). Policy: `valid`, or why it would be refused:
   * `missing`, `bad`, `unknown-key`.
   */
  readonly status: 'absent' | 'present' | 'valid' | 'missing' | 'bad' | 'unknown-key';
  readonly keyId?: string;
  readonly algorithm?: SignatureAlgorithm;
  readonly reason?: string;
  /** The `.note.Xen.signature` note: information only. */
  readonly embedded: EmbeddedSignature;
}

export async function signatureReport(payloadFile: string, bytes: Uint8Array, trust: TrustedKeySet): Promise<SignatureReport> {
  const file = signaturePathFor(payloadFile);
  const sig = await readSignatureFile(file);
  const v = verifySignature(trust, bytes, sig);
  const embedded = embeddedSignatureOf(bytes);
  const policy = trust.keys.length ? 'required' : 'none';
  switch (v.status) {
    case 'no-policy':
      return { policy, file, status: v.signature, embedded };
    case 'valid':
      return { policy, file, status: 'valid', keyId: v.keyId, algorithm: v.algorithm, embedded };
    case 'missing':
      return { policy, file, status: 'missing', reason: `${file} does not exist`, embedded };
    case 'bad':
    case 'unknown-key':
      return { policy, file, status: v.status, reason: v.reason, embedded };
  }
}
