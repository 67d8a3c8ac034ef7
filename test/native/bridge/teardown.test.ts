/**
 * Ending a worker thread while the addon has work in flight. Node still completes that work while
 * it tears the worker's environment down, when JS can no longer run: the addon must neither abort
 * the process (an exception out of a libuv callback is std::terminate) nor run the calls queued
 * behind, and the interface must still be closed. Each call kind is caught mid-flight (the fake
 * delays it), with a second call queued behind it, and the worker is ended by terminate() and by
 * process.exit() inside it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeScript, type FakeDelay, SUITE_MINOR, fakeLibrary, hex, writeScript } from '../support/fake-xenctrl.js';
import { distNativeEntry, workDir } from '../support/paths.js';

const SANITIZER = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;
const DELAY_MS = 300;

/** A call kind: what the worker calls, and the fake call that is held up. */
const KINDS: readonly (readonly [kind: string, delayed: FakeDelay])[] = [
  ['open', 'open'],
  ['xenVersion', 'version'],
  ['upload', 'upload'],
  ['get', 'get'],
  ['list', 'list-probe'],
  ['apply', 'action'],
  ['readConsole', 'readconsole'],
  ['sendDebugKeys', 'debugkeys'],
  ['close', 'close'],
];

// Runs in the worker: opens the fake, starts the call of its kind and one more behind it, says so,
// and (mode "exit") leaves with process.exit() while they are in flight.
const WORKER = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { openNative } = await import(workerData.entry);
  const { kind, library, mode } = workerData;
  const quiet = (p) => { p.catch(() => {}); };
  if (kind === 'open') {
    quiet(openNative({ library }));
  } else {
    const b = await openNative({ library });
    const call = {
      xenVersion: () => b.xenVersion(),
      upload: () => b.upload('new', Buffer.from('payload')),
      get: () => b.get('p'),
      list: () => b.list(),
      apply: () => b.apply('p'),
      readConsole: () => b.readConsole(),
      sendDebugKeys: () => b.sendDebugKeys('x'),
      close: () => b.close(),
    }[kind];
    quiet(call());
    quiet(b.get('queued'));
  }
  parentPort.postMessage('in flight');
  if (mode === 'exit') setTimeout(() => process.exit(0), 50);
})();
`;

// Runs in the child process: a worker per call kind, all at once, each on its own copy of the fake
// library (which reads the script beside it); prints each kind that survived.
const CHILD = `
const { Worker } = await import('node:worker_threads');
const [entry, planned] = process.argv.slice(1);
await Promise.all(JSON.parse(planned).map(async ({ kind, library, mode }) => {
  const worker = new Worker(${JSON.stringify(WORKER)}, { eval: true, workerData: { entry, kind, library, mode }, execArgv: [] });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  if (mode === 'terminate') {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await worker.terminate();
  }
  await exited;
  console.log('survived ' + kind);
}));
`;

interface Planned {
  readonly kind: string;
  readonly library: string;
  readonly mode: string;
  readonly trace: string;
}

// Library copies are loaded, so they live under the repository (/tmp may be noexec).
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function plan(mode: 'terminate' | 'exit'): Planned[] {
  return KINDS.map(([kind, delayed]) => {
    const dir = workDir('teardown');
    dirs.push(dir);
    const trace = join(dir, 'trace.txt');
    writeFileSync(trace, '');
    const library = join(dir, basename(fakeLibrary(SUITE_MINOR)));
    copyFileSync(fakeLibrary(SUITE_MINOR), library);
    writeFileSync(`${library}.script`, new FakeScript().payload('p').console('boot\n').delay(delayed, DELAY_MS).trace(trace).text());
    return { kind, library, mode, trace };
  });
}

function runChild(planned: Planned[]): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, UV_THREADPOOL_SIZE: String(2 * KINDS.length) };
  delete env.XLP_FAKE_XENCTRL_SCRIPT;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, distNativeEntry(), JSON.stringify(planned)], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe.each(['terminate', 'exit'] as const)('a worker ended by %s() with work in flight', (mode) => {
  it('does not abort the process, drops the queued call and closes the interface, for every call kind', () => {
    const planned = plan(mode);
    const r = runChild(planned);
    expect(r.stderr).not.toMatch(SANITIZER);
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(r.stdout.trim().split('\n').sort()).toEqual(KINDS.map(([kind]) => `survived ${kind}`).sort());
    for (const p of planned) {
      const lines = readFileSync(p.trace, 'utf8').trim().split('\n');
      // The interface was closed exactly once, last: by the teardown, or by the close in flight.
      expect(
        lines.filter((l) => l === 'close'),
        `${p.kind}: ${lines.join(' | ')}`,
      ).toEqual(['close']);
      expect(lines.at(-1), p.kind).toBe('close');
      // The call queued behind the one in flight never ran.
      expect(
        lines.some((l) => l === `get name=${hex('queued')}`),
        `${p.kind}: ${lines.join(' | ')}`,
      ).toBe(false);
    }
  });
});

describe('process.exit() on the main thread with a call in flight', () => {
  it('exits with the code given', () => {
    const script = writeScript(new FakeScript().payload('p').delay('get', DELAY_MS));
    const child = `
      const { openNative } = await import(process.argv[1]);
      const b = await openNative({ library: process.argv[2] });
      b.get('p').catch(() => {});
      setTimeout(() => process.exit(7), 50);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, distNativeEntry(), fakeLibrary(SUITE_MINOR)], {
      encoding: 'utf8',
      env: { ...process.env, XLP_FAKE_XENCTRL_SCRIPT: script },
    });
    expect(r.stderr).not.toMatch(SANITIZER);
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 7, signal: null, stderr: '' });
  });
});
