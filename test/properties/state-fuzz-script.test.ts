/** The state-file fuzz run (scripts/fuzz/state-files.ts) works and `npm run fuzz` runs it after the ELF run. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run fuzz: the state files', () => {
  it('runs its own budget (XLP_FUZZ_STATE_RUNS) with the seed from XLP_FUZZ_SEED over every state file', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/fuzz/state-files.ts'], {
      cwd: ROOT,
      env: { ...process.env, XLP_FUZZ_STATE_RUNS: '12', XLP_FUZZ_SEED: '42' },
    });
    expect(stdout).toMatch(
      /fuzz: 12 state-file inputs over \d+ files \(.*mock\/state\.json.*mock\/symbols\.json.*mock\/workflow\/in-flight\.json.*mock\/workflow\/journal\.json.*mock\/workflow\/lock.*mock\/workflow\/payloads\/[0-9a-f]+\.json.*\), seed 42/,
    );
    expect(stdout).toMatch(/fuzz: 12 state-file inputs passed in [\d.]+s \(seed 42\)/);
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.fuzz).toMatch(/tsx scripts\/fuzz\/state-files\.ts/);
  });
});
