/**
 * `npm run prebuildify` (run in a copy of the package, so the build/ other tests load is never
 * rebuilt under them) produces prebuilds/linux-x64/*.node, and a program importing the package's
 * public entry point loads that prebuild through node-gyp-build.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smokeInChild } from '../support/child.js';
import { expectHygienic } from '../support/elf.js';
import { ROOT, distNativeEntry, workDir } from '../support/paths.js';

function prebuildifyAndLoad(copy: string): void {
  for (const entry of ['package.json', '.npmrc', 'binding.gyp', 'native', 'dist']) {
    cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');

  const r = spawnSync('npm', ['run', 'prebuildify'], {
    cwd: copy,
    env: { ...process.env, JOBS: 'max', npm_config_nodedir: '/usr' },
    encoding: 'utf8',
  });
  expect(r.status, `${r.stdout}${r.stderr}`.slice(-4000)).toBe(0);
  const dir = join(copy, 'prebuilds', 'linux-x64');
  const built = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  expect(built).toEqual(['xen-livepatch.node']);
  const prebuild = join(dir, 'xen-livepatch.node');
  expectHygienic(prebuild);

  // PREBUILDS_ONLY: node-gyp-build would otherwise prefer the copy's build/Release.
  const smoke = smokeInChild('xen-livepatch/native', { cwd: copy, env: { PREBUILDS_ONLY: '1' } });
  expect(smoke.addonPath).toBe(prebuild);
  expect(smoke.version).toMatchObject({ major: 4, minor: 17 });
}

describe('prebuilds', () => {
  it('npm run prebuildify makes prebuilds/linux-x64/*.node, which the package entry point loads', () => {
    distNativeEntry(); // the copy needs a current dist/
    const copy = workDir('package');
    try {
      prebuildifyAndLoad(copy);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
