/** `npm run fuzz` itself works: a tiny budget, a given seed, and it says so. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run fuzz', () => {
  it('runs the budget from XLP_FUZZ_RUNS with the seed from XLP_FUZZ_SEED', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/fuzz.ts'], { cwd: ROOT, env: { ...process.env, XLP_FUZZ_RUNS: '200', XLP_FUZZ_SEED: '42' } });
    expect(stdout).toContain('fuzz: 200 inputs over');
    expect(stdout).toContain('seed 42');
    expect(stdout).toMatch(/fuzz: 200 inputs passed in [\d.]+s \(seed 42\)/);
  });
});
