/**
 * The cmake-js build of the same sources (the packagers' path, and the base of the ASan build):
 * offline, with no header cache in $HOME and no npm nodedir, thanks to binary.napi_versions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, smokeInChild } from '../support/child.js';
import { expectHygienic } from '../support/elf.js';
import { ROOT, distNativeEntry } from '../support/paths.js';

describe('the cmake-js build', () => {
  it('builds offline into build-cmake/ and works like the node-gyp build', () => {
    const home = mkdtempSync(join(tmpdir(), 'xlp-home-'));
    const env = cleanEnv({ HOME: home });
    for (const key of Object.keys(env)) if (/^npm_config_/i.test(key)) delete env[key];
    const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'cmake-js'), ['compile', '--out', 'build-cmake', '--log-level', 'warn'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    rmSync(home, { recursive: true, force: true });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/https?:\/\//);

    const addon = join(ROOT, 'build-cmake', 'Release', 'xen_livepatch.node');
    expectHygienic(addon);
    const smoke = smokeInChild(distNativeEntry(), { cwd: ROOT, env: { XEN_LIVEPATCH_ADDON: addon } });
    expect(smoke.addonPath).toBe(addon);
  });
});
