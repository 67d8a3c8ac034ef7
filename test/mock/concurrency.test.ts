/**
 * Done-criterion of the mock: two processes sharing a state directory, started at once, see one
 * consistent hypervisor; `xlp mock` commands run against the same directory meanwhile.
 */
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initMockState, openMockBackend } from '../../lib/mock/index.js';
import { parityIdentity } from '../../lib/parity/index.js';
import { scratchDir } from '../support/scratch.js';
import { payloadBytes, TEST_XEN } from '../support/mock-payloads.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('two processes on one mock state directory', () => {
  it('see one consistent hypervisor under concurrent use', async () => {
    const tmp = scratchDir('xlp-conc-');
    const dir = join(tmp, 'state');
    await initMockState(dir, parityIdentity(TEST_XEN, { quiesceMs: 2 }));
    const payload = join(tmp, 'nop.livepatch');
    await writeFile(payload, await payloadBytes('nop'));
    const ROUNDS = 12;
    const worker = (id: number) =>
      run(process.execPath, ['--import', 'tsx', 'test/mock/support/worker.ts', dir, String(id), String(ROUNDS), payload]);
    const xlp = (...args: string[]) => run(process.execPath, ['bin/xlp.js', 'mock', ...args, '--mock-state', dir, '--json']);

    const [w0, w1, ...cli] = await Promise.all([
      worker(0),
      worker(1),
      ...Array.from({ length: 6 }, (_, k) => xlp('hook', `cli_${k}`, 'prerevert', '--rc', '-1,0')),
      xlp('status'),
    ]);
    for (const w of [w0, w1]) {
      expect(w.stderr).toBe('');
      expect(w.code).toBe(0);
      expect(JSON.parse(w.stdout).problems).toEqual([]);
    }
    for (const c of cli) expect(c.code, c.stdout + c.stderr).toBe(0);

    const mock = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
    const snap = await mock.inspect();
    expect(snap.payloads.map((p) => p.name).sort()).toEqual(['keep_0', 'keep_1']);
    expect(snap.applied).toEqual([]);
    expect(snap.pending).toBeNull();
    // Every upload and unload counted once: no update was lost.
    expect(snap.payloadVersion).toBe(1 + 2 * (2 * ROUNDS) + 2);
    const rules = await mock.hookRules();
    expect(rules).toHaveLength(2 * ROUNDS + 6);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    const page = await mock.listPage({ idx: 0, nr: 0 });
    expect(page.version).toBe(snap.payloadVersion);
    // Nothing left behind: no lock, no temporary files, one file per loaded payload.
    expect((await readdir(dir)).sort()).toEqual(['payloads', 'state.json', 'symbols.json']);
    // The two blobs, and no temporary file left (the verified-blob cache aside).
    expect((await readdir(join(dir, 'payloads'))).filter((f) => f !== '.verified.json')).toHaveLength(2);
    const status = JSON.parse(cli[cli.length - 1]!.stdout) as { identity: { buildId: string } };
    expect(status.identity.buildId).toBe(TEST_XEN);
  });
});
