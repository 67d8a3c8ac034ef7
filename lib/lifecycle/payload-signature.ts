/**
 * The signature policy applied to a payload file: its bytes are read once, its detached signature
 * (`FILE.sig`) beside it, and the policy's verdict is over exactly those bytes, which the caller
 * then stores or uploads. `install`, `upload` and `load` go through here.
 */
import { readSource } from '../workflow/source.js';
import { readSignatureFile, requireAcceptedSignature, signaturePathFor, type SignatureVerdict, verifySignature } from './signature.js';
import type { TrustedKeySet } from './trusted-keys.js';

/** A payload file read once, with its signature and the policy's accepting verdict. */
export interface SignedPayloadFile {
  readonly file: string;
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array | null;
  readonly signatureFile: string;
  readonly verdict: Extract<SignatureVerdict, { status: 'valid' | 'no-policy' }>;
}

/**
 * Reads `file` (as `name`, default its base name without extension) and its detached signature,
 * and applies the policy: `SignatureRejectedError` naming the file and the reason when keys are
 * trusted and the signature is missing, bad or from an unknown key.
 */
export async function readSignedPayload(file: string, trust: TrustedKeySet, name?: string): Promise<SignedPayloadFile> {
  const { bytes, name: derived } = await readSource(file, name);
  const signatureFile = signaturePathFor(file);
  const signature = await readSignatureFile(signatureFile);
  const verdict = requireAcceptedSignature(verifySignature(trust, bytes, signature), {
    file,
    signatureFile,
    payload: derived,
    trustDir: trust.dir,
  });
  return { file, name: derived, bytes, signature, signatureFile, verdict };
}
