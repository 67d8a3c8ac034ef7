/**
 * `.note.Xen.signature` (the upstream signing proposal's note) is recognised and described, never
 * trusted; `xlp check` reports it with the detached signature's status.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedSignatureOf } from '../../lib/lifecycle/embedded-signature.js';
import { scratchDir } from '../support/scratch.js';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, cleanEnv, xlp } from '../cli/support/xlp.js';

let P: WfPayloads;
let work: string;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
  work = scratchDir('xlp-note-');
  chmodSync(work, 0o755);
});

/** An ELF note: namesz, descsz, type, then the name and the descriptor, each padded to 4 bytes. */
function note(name: string, type: number, desc: Uint8Array): Buffer {
  const n = Buffer.from(`${name}\0`);
  const pad = (b: Buffer | Uint8Array) => Buffer.concat([Buffer.from(b), Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(n.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad(n), pad(desc)]);
}

/** The base payload with a `.note.Xen.signature` section holding `bytes`, added by objcopy. */
function withNote(bytes: Buffer, tag: string): string {
  const noteFile = join(work, `${tag}.note`);
  writeFileSync(noteFile, bytes);
  const out = join(work, `${tag}.livepatch`);
  execFileSync('objcopy', [
    '--add-section',
    `.note.Xen.signature=${noteFile}`,
    '--set-section-flags',
    '.note.Xen.signature=readonly',
    P.path('base'),
    out,
  ]);
  return out;
}

describe('.note.Xen.signature', () => {
  it('recognises the proposal\'s v1 layout (one "Xen" note, type 1, an RSA signature) and says its size', () => {
    const f = withNote(note('Xen', 1, new Uint8Array(384).fill(7)), 'v1');
    expect(embeddedSignatureOf(readFileSync(f))).toEqual({ status: 'recognised', layout: 'xen-v1-rsa-sha256', signatureBytes: 384 });
    expect(embeddedSignatureOf(readFileSync(P.path('base')))).toEqual({ status: 'absent' });
  });

  it('describes other layouts as not recognised, with the reason', () => {
    expect(embeddedSignatureOf(readFileSync(withNote(note('Xen', 0, new Uint8Array(64)), 'xs')))).toMatchObject({
      status: 'unrecognised',
      reason: expect.stringContaining('XenServer'),
    });
    expect(embeddedSignatureOf(readFileSync(withNote(note('GNU', 1, new Uint8Array(64)), 'gnu')))).toMatchObject({
      status: 'unrecognised',
      reason: expect.stringContaining('"GNU"'),
    });
    expect(embeddedSignatureOf(readFileSync(withNote(note('Xen', 1, new Uint8Array(1024)), 'big')))).toMatchObject({
      status: 'unrecognised',
      reason: expect.stringContaining('fewer than 1024'),
    });
  });

  it('xlp check reports it (information only) and the detached signature under the policy', async () => {
    const f = withNote(note('Xen', 1, new Uint8Array(256).fill(1)), 'check');
    const env = cleanEnv({ XLP_TRUST_DIR: join(work, 'no-keys') });
    const r = await xlp(['check', '--offline', '--json', f], env);
    const doc = JSON.parse(r.out) as { payloads: { signature: Record<string, unknown> }[] };
    expect(doc.payloads[0]!.signature).toEqual({
      policy: 'none',
      file: `${f}.sig`,
      status: 'absent',
      embedded: { status: 'recognised', layout: 'xen-v1-rsa-sha256', signatureBytes: 256 },
    });
    const text = await xlp(['check', '--offline', f], env);
    expect(text.out).toContain(".note.Xen.signature: the upstream proposal's v1 RSA/SHA-256 layout, 256 bytes (information only");

    // With a trusted key, the embedded note does not stand in for a detached signature.
    const trust = join(work, 'trust');
    mkdirSync(trust, { mode: 0o755 });
    execFileSync('openssl', ['genpkey', '-algorithm', 'ED25519', '-out', join(work, 'k.key')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', join(work, 'k.key'), '-pubout', '-out', join(trust, 'k.pem')], { stdio: 'ignore' });
    const withPolicy = cleanEnv({ XLP_TRUST_DIR: trust });
    const missing = JSON.parse((await xlp(['check', '--offline', '--json', f], withPolicy)).out) as {
      payloads: { signature: Record<string, unknown> }[];
    };
    expect(missing.payloads[0]!.signature).toMatchObject({ policy: 'required', status: 'missing' });
    execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-inkey', join(work, 'k.key'), '-in', f, '-out', `${f}.sig`], {
      stdio: 'ignore',
    });
    const valid = JSON.parse((await xlp(['check', '--offline', '--json', f], withPolicy)).out) as {
      payloads: { signature: Record<string, unknown> }[];
    };
    expect(valid.payloads[0]!.signature).toMatchObject({ policy: 'required', status: 'valid', algorithm: 'ed25519' });
    copyFileSync(P.path('second'), f);
    const bad = JSON.parse((await xlp(['check', '--offline', '--json', f], withPolicy)).out) as {
      payloads: { signature: Record<string, unknown> }[];
    };
    expect(bad.payloads[0]!.signature).toMatchObject({ status: 'bad' });
  });
});
