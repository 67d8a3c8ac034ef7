/**
 * The signature policy with keys and signatures made by openssl itself (RSA PKCS#1 v1.5 SHA-256,
 * ECDSA P-256 DER, Ed25519), and the trust directory checked as the state directory is.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireAcceptedSignature, SignatureRejectedError, verifySignature } from '../../lib/lifecycle/signature.js';
import { loadTrustedKeys, TrustDirError, TrustedKeyError } from '../../lib/lifecycle/trusted-keys.js';
import { scratchDir } from '../support/scratch.js';

const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

type Kind = 'rsa' | 'ec' | 'ed';
let work: string;
const key = (k: Kind, n = 1): string => join(work, `${k}${n}.key`);
const pub = (k: Kind, n = 1): string => join(work, `${k}${n}.pub`);

function genKey(k: Kind, n: number): void {
  if (k === 'rsa') openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key(k, n));
  else if (k === 'ec') openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key(k, n));
  else openssl('genpkey', '-algorithm', 'ED25519', '-out', key(k, n));
  openssl('pkey', '-in', key(k, n), '-pubout', '-out', pub(k, n));
}

/** Signs a file as the docs tell operators to, returning the signature's bytes. */
function sign(k: Kind, file: string, n = 1): Uint8Array {
  const out = `${file}.${k}${n}.sig`;
  if (k === 'ed') openssl('pkeyutl', '-sign', '-rawin', '-inkey', key(k, n), '-in', file, '-out', out);
  else openssl('dgst', '-sha256', '-sign', key(k, n), '-out', out, file);
  return new Uint8Array(readFileSync(out));
}

function trustDir(...pubs: string[]): string {
  const d = join(work, `trust-${Math.random().toString(16).slice(2)}`);
  mkdirSync(d, { mode: 0o755 });
  for (const p of pubs) writeFileSync(join(d, p.slice(p.lastIndexOf('/') + 1)), readFileSync(p), { mode: 0o644 });
  return d;
}

let payloadFile: string;
let payload: Uint8Array;
beforeAll(() => {
  work = scratchDir('xlp-sig-');
  chmodSync(work, 0o755);
  for (const k of ['rsa', 'ec', 'ed'] as const) {
    genKey(k, 1);
    genKey(k, 2);
  }
  payloadFile = join(work, 'p.livepatch');
  writeFileSync(payloadFile, Buffer.from('\x7fELF pretend payload bytes'.repeat(50)));
  payload = new Uint8Array(readFileSync(payloadFile));
});

describe('signature verification', () => {
  it.each(['rsa', 'ec', 'ed'] as const)('accepts a good %s signature and names the key that verified it', async (k) => {
    const trust = await loadTrustedKeys(trustDir(pub('rsa'), pub('ec'), pub('ed')));
    const v = verifySignature(trust, payload, sign(k, payloadFile));
    expect(v.status).toBe('valid');
    const expected = trust.keys.find((t) => t.file.endsWith(`${k}1.pub`))!;
    expect(v).toMatchObject({ keyId: expected.keyId, algorithm: { rsa: 'rsa-sha256', ec: 'ecdsa-p256-sha256', ed: 'ed25519' }[k] });
  });

  it('key ids are the SHA-256 of the DER SubjectPublicKeyInfo, as openssl computes it', async () => {
    const trust = await loadTrustedKeys(trustDir(pub('ed')));
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pub('ed'), '-outform', 'DER']);
    const sha = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(' ')[0];
    expect(trust.keys[0]!.keyId).toBe(sha);
  });

  it.each(['rsa', 'ec', 'ed'] as const)('says bad for a tampered payload (%s)', async (k) => {
    const trust = await loadTrustedKeys(trustDir(pub(k)));
    const sig = sign(k, payloadFile);
    const tampered = new Uint8Array(payload);
    tampered[10] = tampered[10]! ^ 1;
    expect(verifySignature(trust, tampered, sig).status).toBe('bad');
    expect(verifySignature(trust, payload, sig).status).toBe('valid');
  });

  it('says bad for a signature by another key of the same kind, unknown-key for one of a kind not trusted', async () => {
    const trust = await loadTrustedKeys(trustDir(pub('ed')));
    expect(verifySignature(trust, payload, sign('ed', payloadFile, 2)).status).toBe('bad');
    const v = verifySignature(trust, payload, sign('ec', payloadFile));
    expect(v.status).toBe('unknown-key');
    expect(v.status === 'unknown-key' && v.reason).toContain('Ed25519');
  });

  it('says missing when keys are trusted and there is no signature; no policy without keys', async () => {
    expect(verifySignature(await loadTrustedKeys(trustDir(pub('rsa'))), payload, null).status).toBe('missing');
    expect(verifySignature(await loadTrustedKeys(trustDir()), payload, null)).toEqual({ status: 'no-policy', signature: 'absent' });
    expect((await loadTrustedKeys(join(work, 'absent'))).keys).toEqual([]);
  });

  it('refusals name the payload file, the signature file and the reason', async () => {
    const trust = await loadTrustedKeys(trustDir(pub('rsa')));
    const subject = { file: payloadFile, signatureFile: `${payloadFile}.sig`, payload: 'p', trustDir: trust.dir };
    const missing = (() => {
      try {
        requireAcceptedSignature(verifySignature(trust, payload, null), subject);
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(SignatureRejectedError);
    expect(missing).toMatchObject({ problem: 'missing', file: payloadFile, payload: 'p', code: 'ESIGNATURE' });
    expect((missing as Error).message).toContain(`${payloadFile}.sig does not exist`);
    expect(() => requireAcceptedSignature(verifySignature(trust, payload, sign('rsa', payloadFile, 2)), subject)).toThrow(
      /does not verify/,
    );
  });
});

describe('trust directory', () => {
  it('refuses a group- or world-writable directory and a symlinked one', async () => {
    const d = trustDir(pub('rsa'));
    chmodSync(d, 0o775);
    await expect(loadTrustedKeys(d)).rejects.toMatchObject({ name: 'TrustDirError', problem: 'group-or-world-writable' });
    chmodSync(d, 0o755);
    const link = join(work, `link-${Math.random()}`);
    symlinkSync(d, link);
    await expect(loadTrustedKeys(link)).rejects.toBeInstanceOf(TrustDirError);
    await expect(loadTrustedKeys(link)).rejects.toMatchObject({ problem: 'symlink' });
  });

  it('refuses a directory owned by someone else', async () => {
    const d = trustDir(pub('rsa'));
    if (process.getuid!() === 0) {
      // Root may hand the directory to another user; whoever owns it could add keys.
      chownSync(d, 4242, 4242);
      await expect(loadTrustedKeys(d)).rejects.toMatchObject({ problem: 'foreign-owner' });
    } else {
      // Not root: the directory is this user's; seen by a process of another (non-root) user, it is foreign.
      await expect(loadTrustedKeys(d, { uid: process.getuid!() + 1 })).rejects.toMatchObject({ problem: 'foreign-owner' });
    }
  });

  it('refuses, by name, a private key, a writable key file, a weak RSA key and a file that is no key', async () => {
    const priv = trustDir();
    writeFileSync(join(priv, 'oops.pem'), readFileSync(key('ec')), { mode: 0o600 });
    await expect(loadTrustedKeys(priv)).rejects.toMatchObject({
      name: 'TrustedKeyError',
      problem: 'private-key',
      file: join(priv, 'oops.pem'),
    });

    const writable = trustDir(pub('ed'));
    chmodSync(join(writable, 'ed1.pub'), 0o666);
    await expect(loadTrustedKeys(writable)).rejects.toMatchObject({ problem: 'unsafe' });

    const weakKey = join(work, 'weak.key');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', weakKey);
    openssl('pkey', '-in', weakKey, '-pubout', '-out', `${weakKey}.pub`);
    await expect(loadTrustedKeys(trustDir(`${weakKey}.pub`))).rejects.toMatchObject({ problem: 'weak-key' });

    const junk = trustDir();
    writeFileSync(join(junk, 'README'), 'not a key\n', { mode: 0o644 });
    await expect(loadTrustedKeys(junk)).rejects.toBeInstanceOf(TrustedKeyError);
  });
});
