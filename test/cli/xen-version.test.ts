/**
 * One Xen version grammar for every `--xen-version` (lib/xen/version.ts), the online check taking
 * the running hypervisor's version, and the console of a 4.20 refusal shown whole.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../lib/backend/backend.js';
import type { CheckJson } from '../../lib/cli/check-json.js';
import { runCheck } from '../../lib/cli/commands/check.js';
import { Output } from '../../lib/cli/output.js';
import { openMockBackend } from '../../lib/mock/index.js';
import type { SystemContextDeps } from '../../lib/host/index.js';
import { fixture, OTHER_XEN_BUILD_ID, XEN_BUILD_ID } from '../fixtures/catalogue.js';
import { assertBuilt, cleanEnv, xlp } from './support/xlp.js';

let dir: string;
let payload: string;
let foreign: Uint8Array;
beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'xlp-xen-version-'));
  payload = (await fixture('func_normal')).path;
  // Built for another hypervisor and needing a symbol the host lacks: the two versions disagree on which comes first.
  const b = Buffer.from((await fixture('func_normal', { xenBuildId: OTHER_XEN_BUILD_ID })).bytes);
  const at = b.indexOf('\0xen_extra_version\0');
  Buffer.from('\0xen_extra_versiox\0').copy(b, at);
  foreign = b;
  await writeFile(join(dir, 'foreign.livepatch'), foreign);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--xen-version: the same grammar for xlp check and xlp mock init', () => {
  it.each(['4.17', '4.20', '4.20.4', '4.19.1', '4.21', 'head'])('both accept %j', async (v) => {
    const check = await xlp(['check', '--offline', '--json', '--xen-version', v, payload]);
    expect(check.code, check.err).toBe(0);
    const init = await xlp(['mock', 'init', '--json', '--mock-state', join(dir, `ok-${v}`), '--xen-version', v]);
    expect(init.code, init.err).toBe(0);
  });

  it.each(['4.13', '4.23', '4.19-rc', 'master', '4.17.7.1', 'x'])('both refuse %j as a usage error (exit 2) naming the known versions', async (v) => {
    const check = await xlp(['check', '--offline', '--xen-version', v, payload]);
    const init = await xlp(['mock', 'init', '--mock-state', join(dir, `bad-${v}`), '--xen-version', v]);
    for (const r of [check, init]) {
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain('--xen-version');
      expect(r.err).toContain('known: 4.14, 4.15, 4.16, 4.17, 4.18, 4.19, 4.20, 4.21, 4.22');
    }
  });

  it('mock init --xen-version 4.20 reports 4.20 version strings', async () => {
    const r = await xlp(['mock', 'init', '--json', '--mock-state', join(dir, 'v420'), '--xen-version', '4.20']);
    expect(r.json<{ identity: { version: unknown } }>().identity.version).toEqual({ major: 4, minor: 20, extra: '.4' });
  });
});

function capture(): { out: Output; stdout: () => string } {
  let o = '';
  const stream = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  return { out: new Output({ json: true, quiet: false }, stream((s) => (o += s)), stream(() => undefined)), stdout: () => o };
}

function host(extra: string): SystemContextDeps {
  const backend = {
    kind: 'mock',
    xenVersion: async () => ({ major: 4, minor: Number(extra.split(':')[0]), extra: extra.split(':')[1]!, buildId: XEN_BUILD_ID }),
    list: async () => [],
    close: async () => undefined,
  } as unknown as Backend;
  return { isXenHost: () => true, openBackend: async () => backend, readXenSymbols: async () => 'ffff82d040210000 T printk\n' };
}

describe('xlp check on a dom0 checks as the running hypervisor', () => {
  it('Debian 13 (4.20.5-pre): the build-id block first, as 4.20 does', async () => {
    const c = capture();
    await runCheck([join(dir, 'foreign.livepatch')], { json: true }, c.out, { system: host('20:.5-pre') });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.xenVersion).toBe('4.20.4');
    expect(doc.context.xenVersion).toBe('4.20.5-pre');
    expect(doc.payloads[0]!.uploadError).toMatchObject({ code: 'xen-build-id-mismatch', errnoName: 'EINVAL' });
    expect(doc.payloads[0]!.uploadError!.console).toBe(`livepatch: foreign: build-id mismatch:\n\u00a0 livepatch: ${OTHER_XEN_BUILD_ID}\n${'\u00a0'.repeat(7)} xen: ${XEN_BUILD_ID}`);
  });

  it('Debian 12 (4.17.7): the unresolved symbol first, as 4.17 does', async () => {
    const c = capture();
    await runCheck([join(dir, 'foreign.livepatch')], { json: true }, c.out, { system: host('17:.7') });
    const doc = JSON.parse(c.stdout()) as CheckJson;
    expect(doc.xenVersion).toBe('4.17.7');
    expect(doc.payloads[0]!.uploadError).toMatchObject({ code: 'undefined-symbol', errnoName: 'ENOENT' });
  });

  it('--xen-version still wins over the running version', async () => {
    const c = capture();
    await runCheck([join(dir, 'foreign.livepatch')], { json: true, xenVersion: '4.17' }, c.out, { system: host('20:.5-pre') });
    expect((JSON.parse(c.stdout()) as CheckJson).payloads[0]!.uploadError!.code).toBe('undefined-symbol');
  });
});

describe('xlp log shows a message Xen prints over several lines whole', () => {
  it("4.20's build-id mismatch block: all three lines, with or without a payload name", async () => {
    const state = join(dir, 'log-mock');
    const init = await xlp(['mock', 'init', '--mock-state', state, '--xen-version', '4.20', '--build-id', XEN_BUILD_ID, '--loglvl', 'all']);
    expect(init.code, init.err).toBe(0);
    // Uploaded past the CLI's own preflight, as another tool would.
    const mock = await openMockBackend({ stateDir: state });
    await mock.upload('foreign', (await fixture('func_normal', { xenBuildId: OTHER_XEN_BUILD_ID })).bytes).catch(() => undefined);
    await mock.close();
    const block = ['(XEN) livepatch: foreign: build-id mismatch:', `(XEN) \u00a0 livepatch: ${OTHER_XEN_BUILD_ID}`, `(XEN) ${'\u00a0'.repeat(7)} xen: ${XEN_BUILD_ID}`];
    const env = cleanEnv({ XLP_BACKEND: 'mock', XLP_MOCK_STATE: state });
    const all = await xlp(['log', '--json'], env);
    expect(all.code, all.err).toBe(0);
    expect(all.json<{ lines: string[] }>().lines).toEqual(block);
    const named = await xlp(['log', 'foreign', '--json'], env);
    expect(named.json<{ lines: string[] }>().lines).toEqual(block);
  });
});
