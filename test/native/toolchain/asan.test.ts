/**
 * `npm run test:asan` as part of `npm test`: the bridge suite against the ASan+UBSan build, with
 * the fake libxenctrl instrumented too. Any sanitizer report fails it, even one no test noticed.
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
    // eslint-disable-next-line no-control-regex
    const output = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(output).not.toMatch(/AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/);
    expect(r.status, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Test Files .*\d+ passed/);
    expect(output).toContain('passed under ASan+UBSan');
    // A whole instrumented vitest run in a child: about 40 s alone on 2 cores, 60-100 s while the
    // rest of `npm test` (or other work) shares them, past the suite's 60 s default.
  }, 300_000);
});
