/**
 * The README's claims, run: its command-line example works as written on a machine without Xen
 * (the simulator is the default there, as its first lines say), announcing the simulator on stderr.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cleanEnv, ROOT, tempDir, xlp } from './support/xlp.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

beforeAll(() => assertBuilt());

describe('README', () => {
  it('its first command, `npm run demo`, behaves as documented on the simulator', () => {
    expect(readme).toMatch(/^npm ci && npm run demo +# .*mock hypervisor \(the default without Xen\)/m);
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'demo.mjs')], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('demo: every step behaved as documented');
  });

  it('says the mock is the default without Xen, and its xlp example runs as written there', async () => {
    expect(readme).toMatch(/the default without Xen/);
    const section = readme.slice(readme.indexOf('## Command line'));
    const block = /```sh\n([\s\S]*?)\n```/.exec(section)![1]!;
    const commands = block
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(commands.length).toBeGreaterThanOrEqual(4);
    // No XLP_BACKEND, no --backend: this machine has no Xen, so the simulator it is.
    const env = cleanEnv({ XDG_STATE_HOME: await tempDir() });
    for (const command of commands) {
      const [tool, ...args] = command.split(/\s+/);
      expect(tool, command).toBe('xlp');
      const r = await xlp(args, env);
      expect(r.code, `${command}: ${r.err}`).toBe(0);
      if (args[0] !== 'mock') expect(r.err, command).toMatch(/^xlp: note: no Xen here .*using the simulated hypervisor/m);
    }
  });
});
