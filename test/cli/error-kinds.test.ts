/**
 * One table of error kinds, codes and exit codes (ERROR_KINDS): docs/cli.md shows exactly it, the
 * JSON schema pins each kind's fields and exit codes, every error class the CLI can meet maps to
 * one of its kinds, and the CLI answers in that form for the kinds outside the workflows.
 */
import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_KINDS, type ErrorKind } from '../../lib/cli/error-kinds.js';
import { reportFor } from '../../lib/cli/error-report.js';
import { CLI_SCHEMAS, validateJson } from '../../lib/cli/json-schema.js';
import { UsageError } from '../../lib/cli/usage-error.js';
import { LockTimeoutError } from '../../lib/fs/lock.js';
import { PrivateDirError } from '../../lib/fs/private-dir.js';
import { PrivateFileError } from '../../lib/fs/private-file.js';
import { MockConfigError, MockPanicError, MockStateError } from '../../lib/mock/errors.js';
import {
  AbortedError,
  ActionFailedError,
  BusyError,
  DependencyError,
  HookVetoError,
  JournalPendingError,
  LockedError,
  NotLoadedError,
  NotReapplyableError,
  NotTopOfStackError,
  PayloadFileError,
  PreflightError,
  RefusedError,
  ReplaceRefusedError,
  TimeoutError,
  UploadFailedError,
  WrongStateError,
} from '../../lib/workflow/errors.js';
import { JournalCorruptError } from '../../lib/workflow/journal.js';
import { InvalidNameError } from '../../lib/workflow/names.js';
import { StateFileError } from '../../lib/workflow/state-file.js';
import { XenError, XenUnavailableError } from '../../lib/xen/errors.js';
import { BootGuardTrippedError } from '../../lib/lifecycle/boot-state.js';
import { BootUnitError } from '../../lib/lifecycle/boot-unit.js';
import { InstallOrderError } from '../../lib/lifecycle/install-order.js';
import { SignatureFileError, SignatureRejectedError } from '../../lib/lifecycle/signature.js';
import {
  DependedOnError,
  InstalledStoreError,
  InstallRefusedError,
  InvalidBuildIdError,
  NotInstalledError,
} from '../../lib/lifecycle/store.js';
import { UnreadableInstalledCopyError } from '../../lib/lifecycle/sync.js';
import { SyncRefusedError } from '../../lib/lifecycle/sync-plan.js';
import { TrustDirError, TrustedKeyError } from '../../lib/lifecycle/trusted-keys.js';
import { wfPayloads, type WfPayloads } from '../workflow/support/payloads.js';
import { assertBuilt, expectSchema, mockHost, ROOT } from './support/xlp.js';

let P: WfPayloads;
beforeAll(async () => {
  assertBuilt();
  P = await wfPayloads();
});

/** One instance of every error class the CLI can be handed, with the kind it must report. */
const SAMPLES: [ErrorKind, unknown][] = [
  ['UsageError', new UsageError('bad')],
  ['InvalidNameError', new InvalidNameError('bad name', { errno: 22 })],
  ['PayloadFileError', new PayloadFileError('/x', 'x', 2, 'no such file')],
  ['XenUnavailableError', new XenUnavailableError('library-not-found', 'no lib')],
  ['XenUnavailableError', new XenUnavailableError('not-xen', 'no privcmd', { errno: 2 })],
  ['MockStateError', new MockStateError('not-initialized', '/m', 'none')],
  ['MockStateError', new MockStateError('corrupt', '/m/state.json', 'damaged')],
  ['HookVetoError', new HookVetoError('p', 'preapply', -22, [])],
  ['DependencyError', new DependencyError('p', { errno: 22, dependsOn: 'aa', against: 'hypervisor', againstBuildId: 'bb' }, [])],
  ['NotTopOfStackError', new NotTopOfStackError('p', 'q', [])],
  ['BusyError', new BusyError('busy', 'p')],
  ['TimeoutError', new TimeoutError('p', 'APPLY', 'wait', '5 ms', [])],
  ['PreflightError', new PreflightError('p', [], false)],
  ['ReplaceRefusedError', new ReplaceRefusedError('p', [{ payload: 'p', hooks: ['preapply'] }])],
  ['ActionFailedError', new ActionFailedError('p', 'APPLY', 22, 'no', [])],
  ['NotReapplyableError', new NotReapplyableError('p', 'APPLY', 22, 'no', [])],
  ['WrongStateError', new WrongStateError('p', 'applied', 22)],
  ['NotLoadedError', new NotLoadedError('p')],
  ['UploadFailedError', new UploadFailedError('p', 16, 'busy', [])],
  ['UploadFailedError', new UploadFailedError('p', 22, 'no', [])],
  [
    'LockedError',
    new LockedError('held', { holder: { pid: 1, hostname: 'h', purpose: 'x', acquiredAt: 't' }, lockPath: '/s/lock', waitedMs: 10 }),
  ],
  ['JournalPendingError', new JournalPendingError('journal', { payload: 'p', command: 'load p', journalPath: '/s/journal.json' })],
  ['RefusedError', new RefusedError('no', { payload: 'p' })],
  ['AbortedError', new AbortedError('stopped')],
  ['XenError', new XenError('get', 22, 'p')],
  ['XenError', new XenError('apply', 16, 'p')],
  ['MockPanicError', new MockPanicError('BUG')],
  ['MockConfigError', new MockConfigError('bad identity')],
  ['JournalCorruptError', new JournalCorruptError('/s/journal.json', 'unsafe', 'symlink')],
  ['StateFileError', new StateFileError('/s/in-flight.json', 'damaged', 'bad')],
  ['StateFileError', new PrivateFileError('/s/x', 'symlink', 'symlink')],
  ['PrivateDirError', new PrivateDirError('/s', 'unsafe-ancestor', 'bad parent')],
  ['LockTimeoutError', new LockTimeoutError('/m/lock', null, 10)],
  ['InstallRefusedError', new InstallRefusedError('name-taken', 'p', 'other bytes')],
  ['InstallRefusedError', new InstallRefusedError('duplicate-name', 'p', 'twice')],
  ['InstallOrderError', new InstallOrderError('same-base', ['p', 'q'], 'same base')],
  ['InvalidBuildIdError', new InvalidBuildIdError('xyz')],
  ['NotInstalledError', new NotInstalledError('p', 'aa')],
  ['DependedOnError', new DependedOnError('p', ['q'])],
  [
    'UnreadableInstalledCopyError',
    new UnreadableInstalledCopyError('not a payload', { payload: 'p', file: '/s/installed/aa/x.livepatch' }),
  ],
  [
    'SignatureRejectedError',
    new SignatureRejectedError('missing', 'not signed', { payload: 'p', file: '/x.livepatch', signatureFile: '/x.livepatch.sig' }),
  ],
  ['SignatureFileError', new SignatureFileError('/x.livepatch.sig', 'too-large', 'too large')],
  ['TrustDirError', new TrustDirError('/etc/xen-livepatch/trusted-keys', 'symlink', 'symlink')],
  ['TrustedKeyError', new TrustedKeyError('/etc/xen-livepatch/trusted-keys/k.pem', 'private-key', 'private')],
  ['SyncRefusedError', new SyncRefusedError('foreign-in-the-way', ['theirs'], 'in the way')],
  ['SyncRefusedError', new SyncRefusedError('boot-with-prune', [], 'no prune at boot')],
  ['BootGuardTrippedError', new BootGuardTrippedError('/s/boot-sync.pending', '2026-01-01T00:00:00.000Z')],
  ['BootUnitError', new BootUnitError('relative path')],
  ['StateFileError', new InstalledStoreError('/s/installed/aa/manifest.json', 'damaged', 'bad')],
  ['InternalError', Object.assign(new Error("EACCES: permission denied, mkdir '/var/lib/xen-livepatch'"), { code: 'EACCES', errno: -13 })],
  ['InternalError', new TypeError('a bug')],
];

describe('the error kinds', () => {
  it('every error class maps to its kind, with an exit code and the fields the schema pins for it', () => {
    for (const [kind, error] of SAMPLES) {
      const { report, exitCode } = reportFor(error);
      expect(report.kind, kind).toBe(kind);
      expect(ERROR_KINDS[kind].exit as readonly number[], kind).toContain(exitCode);
      expect(validateJson(CLI_SCHEMAS.error, { error: { ...report, exitCode } }), kind).toEqual([]);
    }
    expect(new Set(SAMPLES.map(([k]) => k))).toEqual(new Set(Object.keys(ERROR_KINDS)));
    // The specific exits of the kinds with two.
    expect(reportFor(new MockStateError('not-initialized', '/m', 'x')).exitCode).toBe(3);
    expect(reportFor(new MockStateError('foreign', '/m', 'x')).exitCode).toBe(1);
    expect(reportFor(new UploadFailedError('p', 16, 'x', [])).exitCode).toBe(5);
    expect(reportFor(new XenError('apply', 16, 'p')).exitCode).toBe(5);
    expect(reportFor(new XenError('get', 22, 'p')).exitCode).toBe(1);
  });

  it('docs/cli.md shows exactly this table: every kind, its code, exit codes and fields', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    const after = doc.slice(doc.indexOf('<!-- error-kinds -->')).split('\n').slice(1);
    const rows = after.slice(0, after.indexOf('')).slice(2);
    const documented = new Map<string, { code: string; exit: number[]; fields: string }>();
    for (const row of rows) {
      const [, kind, code, exit, fields] = row.split('|').map((c) => c.trim());
      documented.set(kind!.replace(/`/g, ''), { code: code!, exit: exit!.split(',').map((x) => Number(x.trim())), fields: fields! });
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_KINDS).sort());
    for (const [kind, k] of Object.entries(ERROR_KINDS)) {
      const d = documented.get(kind)!;
      expect(d.exit, kind).toEqual([...k.exit]);
      expect(d.code, kind).toBe(k.code.map((c) => (c === 'errno' ? 'errno' : `\`${c}\``)).join(' or '));
      for (const f of k.fields) expect(d.fields, `${kind} documents ${f}`).toMatch(new RegExp(`(^|[^\\w])\`${f}\``));
    }
  });
});

describe('the CLI answers in that form outside the workflows too', () => {
  it('a panicked simulator, a journal symlink, a damaged in-flight record, an unsafe state directory', async () => {
    const panic = await mockHost();
    await panic.run('upload', 'wf_hooked', P.path('hooked'));
    await panic.run('mock', 'hook', 'wf_hooked', 'load', '--bug');
    await panic.run('apply', 'wf_hooked', '--nodeps');
    const dead = await panic.run('list', '--json');
    expect(dead.code).toBe(1);
    expect(expectSchema<{ error: object }>(dead, 'error').error).toMatchObject({ kind: 'MockPanicError', code: 'EMOCKPANIC' });

    const journal = await mockHost();
    await mkdir(join(journal.dir, 'workflow'), { recursive: true, mode: 0o700 });
    await writeFile(join(journal.dir, 'elsewhere.json'), '{}', { mode: 0o600 });
    await symlink(join(journal.dir, 'elsewhere.json'), join(journal.dir, 'workflow', 'journal.json'));
    const j = await journal.run('recover', '--json');
    expect(j.code).toBe(1);
    expect(expectSchema<{ error: object }>(j, 'error').error).toMatchObject({
      kind: 'JournalCorruptError',
      code: 'EJOURNAL',
      problem: 'unsafe',
      file: join(journal.dir, 'workflow', 'journal.json'),
    });

    const flight = await mockHost();
    await flight.run('upload', 'wf_base', P.path('base'));
    await writeFile(join(flight.dir, 'workflow', 'in-flight.json'), '[]', { mode: 0o600 });
    const f = await flight.run('apply', 'wf_base', '--json');
    expect(f.code).toBe(1);
    expect(expectSchema<{ error: object }>(f, 'error').error).toMatchObject({
      kind: 'StateFileError',
      code: 'ESTATEFILE',
      problem: 'damaged',
    });

    const unsafe = await mockHost();
    const r = await unsafe.run('apply', 'x', '--state-dir', '/tmp', '--json');
    expect(r.code).toBe(1);
    expect(expectSchema<{ error: object }>(r, 'error').error).toMatchObject({ kind: 'PrivateDirError', code: 'EPRIVATEDIR', path: '/tmp' });
  });
});
