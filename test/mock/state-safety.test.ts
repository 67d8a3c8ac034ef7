/**
 * A mock state directory as untrusted input: what `openMockBackend` and `initMockState` do with
 * directories that are not (or no longer) a simulator's own, and with a state.json that lies.
 * Every refusal is a MockStateError naming the file, and nothing outside the mock's own files is
 * ever created or deleted.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPrivateDir, PrivateDirError } from '../../lib/fs/private-dir.js';
import { initMockState, MockStateError, openMockBackend } from '../../lib/mock/index.js';
import { decodeJson, encodeJson } from '../../lib/mock/codec.js';
import { payloadBytes, TEST_XEN, testPayloads } from '../support/mock-payloads.js';
import { scratchDir } from '../support/scratch.js';

beforeAll(async () => {
  await testPayloads();
});

const scratch = async () => scratchDir('xlp-safety-');
const open = (dir: string) => openMockBackend({ stateDir: dir, ifMissing: 'error' });

/** A state with one uploaded payload. */
async function withPayload(): Promise<string> {
  const dir = join(await scratch(), 'mock');
  await initMockState(dir, { buildId: TEST_XEN, quiesceMs: 0 });
  const m = await open(dir);
  await m.upload('nop', await payloadBytes('nop'));
  await m.close();
  return dir;
}

/** Rewrites state.json through `edit` (on the decoded object), keeping it ours. */
async function editState(dir: string, edit: (s: Record<string, any>) => void): Promise<void> {
  const file = join(dir, 'state.json');
  const state = decodeJson(await readFile(file, 'utf8')) as Record<string, any>;
  edit(state);
  await writeFile(file, encodeJson(state), { mode: 0o600 });
}

async function refusal(dir: string): Promise<MockStateError> {
  const e = await open(dir).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'opening the damaged state must fail').toBeInstanceOf(MockStateError);
  return e as MockStateError;
}

describe('only `init` creates a simulator, and only in a directory that is its own', () => {
  it('opening a directory without a state creates nothing and deletes nothing', async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'payloads'));
    await writeFile(join(dir, 'payloads', 'keep'), 'x');
    await expect(open(dir)).rejects.toMatchObject({
      name: 'MockStateError',
      problem: 'not-initialized',
      message: expect.stringContaining(`xlp mock init --mock-state ${dir}`),
    });
    expect(await readdir(dir)).toEqual(['payloads']);
    expect(await readFile(join(dir, 'payloads', 'keep'), 'utf8')).toBe('x');
  });

  it('init refuses a directory that holds anything else, and writes nothing into it', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await mkdir(join(dir, 'payloads'));
    await writeFile(join(dir, 'payloads', 'keep'), 'x');
    for (const force of [false, true]) {
      await expect(initMockState(dir, {}, { force })).rejects.toMatchObject({
        name: 'MockStateError',
        problem: 'not-empty',
        message: expect.stringMatching(/not empty and holds no mock hypervisor .*"notes\.txt"/),
      });
    }
    expect((await readdir(dir)).sort()).toEqual(['notes.txt', 'payloads']);
    // A payloads/ directory of other files is no simulator's either.
    await rm(join(dir, 'notes.txt'));
    await expect(initMockState(dir, {})).rejects.toMatchObject({
      problem: 'not-empty',
      message: expect.stringMatching(/payloads holds files that are not payloads of a mock \("keep"\)/),
    });
    expect(await readdir(join(dir, 'payloads'))).toEqual(['keep']);
  });

  it('init never replaces another program state.json, --force included', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'state.json'), '{"app": "other"}', { mode: 0o600 });
    await expect(initMockState(dir, {}, { force: true })).rejects.toMatchObject({ problem: 'foreign' });
    expect(await readFile(join(dir, 'state.json'), 'utf8')).toBe('{"app": "other"}');
  });

  it('init --force over a simulator removes only the blobs it owns', async () => {
    const dir = await withPayload();
    const blobs = await readdir(join(dir, 'payloads'));
    expect(blobs).toHaveLength(1);
    await writeFile(join(dir, 'payloads', 'README'), 'not a blob');
    await initMockState(dir, { buildId: 'aa' }, { force: true });
    expect(await readdir(join(dir, 'payloads'))).toEqual(['README']);
    expect((await (await open(dir)).list()).length).toBe(0);
  });
});

describe('state.json is validated as untrusted input', () => {
  it('a payload hash that is a path is refused, and nothing outside the directory is read', async () => {
    const dir = await withPayload();
    await editState(dir, (s) => (s.machine.payloads[0].sha256 = '../../../../etc/passwd'));
    const e = await refusal(dir);
    expect(e).toMatchObject({
      problem: 'corrupt',
      path: join(dir, 'state.json'),
      message: expect.stringMatching(/machine\.payloads\[0\]\.sha256: expected a SHA-256 in lowercase hex/),
    });
  });

  it('a payload blob that does not match its hash is refused', async () => {
    const dir = await withPayload();
    const [blob] = await readdir(join(dir, 'payloads'));
    const bytes = await readFile(join(dir, 'payloads', blob!));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(join(dir, 'payloads', blob!), bytes, { mode: 0o600 });
    expect(await refusal(dir)).toMatchObject({
      problem: 'corrupt',
      message: expect.stringMatching(/do not match their SHA-256: they were altered/),
    });
  });

  it('a payload blob that is a symlink, and a payloads/ that is one, are refused without following them', async () => {
    const dir = await withPayload();
    const [blob] = await readdir(join(dir, 'payloads'));
    const elsewhere = join(await scratch(), 'copy');
    await writeFile(elsewhere, await readFile(join(dir, 'payloads', blob!)), { mode: 0o600 });
    await rm(join(dir, 'payloads', blob!));
    await symlink(elsewhere, join(dir, 'payloads', blob!));
    expect(await refusal(dir)).toMatchObject({
      problem: 'unsafe',
      message: expect.stringMatching(/is a symbolic link; refusing to follow it/),
    });

    const dir2 = await withPayload();
    const real = join(await scratch(), 'real-payloads');
    await rm(join(dir2, 'payloads'), { recursive: true });
    await mkdir(real, { mode: 0o700 });
    await symlink(real, join(dir2, 'payloads'));
    expect(await refusal(dir2)).toMatchObject({ problem: 'unsafe', path: join(dir2, 'payloads') });
  });

  it('state.json that is a symlink, a directory or a FIFO is refused (no hang, no raw error)', async () => {
    const dir = await withPayload();
    const copy = join(await scratch(), 'state.json');
    await writeFile(copy, await readFile(join(dir, 'state.json')), { mode: 0o600 });
    await rm(join(dir, 'state.json'));
    await symlink(copy, join(dir, 'state.json'));
    expect(await refusal(dir)).toMatchObject({ problem: 'unsafe', path: join(dir, 'state.json') });
    await rm(join(dir, 'state.json'));
    await mkdir(join(dir, 'state.json'));
    expect(await refusal(dir)).toMatchObject({ problem: 'unsafe', message: expect.stringMatching(/not a regular file/) });
    await rm(join(dir, 'state.json'), { recursive: true });
    const { spawnSync } = await import('node:child_process');
    expect(spawnSync('mkfifo', [join(dir, 'state.json')]).status).toBe(0);
    expect(await refusal(dir)).toMatchObject({ problem: 'unsafe', message: expect.stringMatching(/not a regular file/) });
  });

  it('fields of the wrong type or out of range are refused, naming where', async () => {
    const cases: [string, (s: Record<string, any>) => void, RegExp][] = [
      ['console null', (s) => (s.machine.console = null), /machine\.console: expected an object, not null/],
      ['quiesce of 1e12 ms', (s) => (s.identity.quiesceMs = 1e12), /identity\.quiesceMs: expected a number from 0 to 3600000/],
      ['a negative payload count', (s) => (s.machine.payloadVersion = -1), /machine\.payloadVersion/],
      ['an applied payload that is not loaded', (s) => s.machine.applied.push('ghost'), /machine\.applied: expected applied payloads only/],
      [
        'pending work for no payload',
        (s) => (s.machine.pending = { name: 'ghost', cmd: 'APPLY', timeoutNs: 0, scheduledAt: 0, dueAt: 0 }),
        /machine\.pending\.name/,
      ],
      [
        'pending work due in 30 years',
        (s) => (s.machine.pending = { name: 'nop', cmd: 'APPLY', timeoutNs: 0, scheduledAt: 0, dueAt: 1e12 }),
        /machine\.pending\.dueAt: expected a time from scheduledAt to/,
      ],
      ['a console ring that lies about its length', (s) => (s.machine.console.producer += 5), /machine\.console: expected a console ring/],
      [
        'a symbols file elsewhere',
        (s) => (s.identity.symbols = { file: '../../etc/shadow', sha256: 'a'.repeat(64), count: 1 }),
        /identity\.symbols\.file/,
      ],
      [
        'a hook rule with a bad rc',
        (s) => s.machine.hookRules.push({ id: 1, selector: {}, behaviour: { rc: 'zero' }, calls: 0 }),
        /machine\.hookRules\[0\]\.behaviour\.rc/,
      ],
      [
        'per-function arrays of the wrong length',
        (s) => s.machine.payloads[0].applied.push(true),
        /machine\.payloads\[0\]\.applied: expected one entry per function/,
      ],
      ['an unknown loglvl', (s) => (s.identity.loglvl = 'toString'), /identity: expected a valid identity \(not a Xen loglvl/],
    ];
    for (const [what, edit, message] of cases) {
      const dir = await withPayload();
      await editState(dir, edit);
      const e = await refusal(dir);
      expect(e.problem, what).toBe('corrupt');
      expect(e.message, what).toMatch(message);
      expect(e.path, what).toBe(join(dir, 'state.json'));
    }
  });

  it('a quiesce delay of 1e12 ms is refused at init too, and never reaches a timer', async () => {
    const dir = join(await scratch(), 'mock');
    await expect(initMockState(dir, { quiesceMs: 1e12 })).rejects.toMatchObject({ name: 'MockConfigError' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('a state directory is checked with every directory above it (as sshd StrictModes)', () => {
  it('a parent that belongs to another user, or is writable by others and not sticky, is refused; a sticky one is fine', async () => {
    const root = await scratch();
    const parent = join(root, 'parent');
    await mkdir(join(parent, 'mock'), { recursive: true, mode: 0o700 });
    await chmod(parent, 0o777);
    await expect(checkPrivateDir(join(parent, 'mock'))).rejects.toMatchObject({
      name: 'PrivateDirError',
      problem: 'unsafe-ancestor',
      message: expect.stringMatching(/writable by other users and not sticky/),
    });
    await expect(initMockState(join(parent, 'mock'), {})).rejects.toMatchObject({ problem: 'unsafe' });
    await chmod(parent, 0o1777);
    await checkPrivateDir(join(parent, 'mock'));
    await chmod(parent, 0o755);
    // Another owner: as root, give the parent away; otherwise look at it as another user would.
    if (process.getuid?.() === 0) {
      await chown(parent, 4242, 4242);
      await expect(checkPrivateDir(join(parent, 'mock'))).rejects.toMatchObject({
        problem: 'unsafe-ancestor',
        message: expect.stringMatching(/belongs to uid 4242/),
      });
      await expect(open(join(parent, 'mock'))).rejects.toMatchObject({ name: 'MockStateError', problem: 'unsafe' });
    } else {
      const me = process.getuid!();
      await expect(checkPrivateDir(join(parent, 'mock'), { uid: me + 1 })).rejects.toBeInstanceOf(PrivateDirError);
    }
  });

  it('the directories a symlinked ancestor leads to are checked too', async () => {
    const root = await scratch();
    const open777 = join(root, 'open');
    // The link's target looks fine itself; a directory above it does not.
    await mkdir(join(open777, 'inner', 'mock'), { recursive: true, mode: 0o700 });
    await chmod(join(open777, 'inner'), 0o755);
    await chmod(open777, 0o777);
    await symlink(join(open777, 'inner'), join(root, 'link'));
    await expect(checkPrivateDir(join(root, 'link', 'mock'))).rejects.toMatchObject({
      problem: 'unsafe-ancestor',
      message: expect.stringMatching(new RegExp(`^${open777} \\(above `)),
    });
  });
});
