/** Running a built addon in a fresh Node process, the way a user's program loads it. */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { FakeScript, fakeLibrary, writeScript } from './fake-xenctrl.js';

const SMOKE = `
const { openNative } = await import(process.argv[1]);
const backend = await openNative({ library: process.argv[2] });
const list = await backend.list();
const version = await backend.xenVersion();
console.log(JSON.stringify({ addonPath: backend.info.addonPath, names: list.map((e) => e.name), version }));
await backend.close();
`;

export interface SmokeResult {
  readonly addonPath: string;
  readonly names: string[];
  readonly version: { major: number; minor: number; extra: string; buildId: string | null };
}

/** Environment for a child Node: ours, without the variables that would redirect the addon. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['XEN_LIVEPATCH_ADDON', 'XEN_LIVEPATCH_LIBXENCTRL', 'XLP_FAKE_XENCTRL_SCRIPT', 'PREBUILDS_ONLY']) delete env[key];
  return { ...env, ...extra };
}

/**
 * Imports `entry` (a path or a package specifier, resolved from `cwd`) in a new process, opens
 * the fake libxenctrl with two payloads and lists them.
 */
export function smokeInChild(entry: string, options: { cwd: string; env?: Record<string, string> }): SmokeResult {
  const script = writeScript(new FakeScript().payload('hello', { metadata: 'k=v\0' }).payload('bye'));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', SMOKE, entry, fakeLibrary(17)], {
    cwd: options.cwd,
    env: cleanEnv({ XLP_FAKE_XENCTRL_SCRIPT: script, ...options.env }),
    encoding: 'utf8',
  });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  const result = JSON.parse(r.stdout) as SmokeResult;
  expect(result.names).toEqual(['hello', 'bye']);
  return result;
}
