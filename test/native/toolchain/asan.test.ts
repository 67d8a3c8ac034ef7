/**
 * `npm run test:asan` as part of `npm test`: the bridge suite against the ASan+UBSan build, with
 * the fake libxenctrl instrumented too, once per library generation. Any sanitizer report fails
 * it, even one no test noticed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';

describe('the instrumented run', () => {
  it('passes the native bridge suite under AddressSanitizer and UndefinedBehaviorSanitizer', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'run-asan-tests.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });

    const output = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(output).not.toMatch(/AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/);
    expect(r.status, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Test Files .*\d+ passed/);
    expect(output).toContain('passed under ASan+UBSan');
    // Every generation's run of the suite took part.
    for (const project of ['bridge-4.17', 'bridge-4.20', 'bridge-4.21']) expect(output).toContain(project);
  }, 900_000);
});
