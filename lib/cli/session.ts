import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend } from '../backend/index.js';
import { type BackendChoice, defaultStateDir, hostBackendChoice, PRIVCMD_PATH, readXenSymbols } from '../host/index.js';
import type { Livepatcher, ProgressEvent } from '../workflow/index.js';
import type { SymbolTable } from '../xen/index.js';
import type { Output } from './output.js';
import { parseBackend, parseDuration } from './parse.js';
import { actionText, uploadText } from './render.js';
import { Spinner } from './spinner.js';
import { UsageError } from './usage-error.js';

/** The options every command that talks to a hypervisor takes. */
export interface BackendOptions {
  readonly backend?: string;
  readonly mockState?: string;
  readonly stateDir?: string;
  readonly lockTimeout?: string;
  readonly timeout?: string;
}

export interface OpenedBackend {
  readonly backend: Backend;
  readonly kind: BackendChoice;
  /** The workflows' state directory (lock, journal, registry). */
  readonly stateDir: string;
  /** The mock's state directory, for the mock backend. */
  readonly mockStateDir?: string;
  readonly xenSymbols: () => Promise<SymbolTable | undefined>;
}

/**
 * The backend: --backend, else XLP_BACKEND, else what this machine gets (native on a Xen dom0, the
 * simulator anywhere without Xen, `implied`: the command says so on stderr; see lib/host).
 */
export function chooseBackend(options: BackendOptions): { kind: BackendChoice; implied: boolean } {
  if (options.backend !== undefined) return { kind: parseBackend(options.backend, '--backend'), implied: false };
  if (process.env.XLP_BACKEND) return { kind: parseBackend(process.env.XLP_BACKEND, 'XLP_BACKEND'), implied: false };
  return hostBackendChoice();
}

/** --state-dir, else XLP_STATE_DIR, else `fallback`. */
export function stateDirOf(options: BackendOptions, fallback: () => string): string {
  return resolve(options.stateDir ?? (process.env.XLP_STATE_DIR || fallback()));
}

export async function openBackend(options: BackendOptions, out?: Output): Promise<OpenedBackend> {
  const { kind, implied } = chooseBackend(options);
  if (kind === 'native') {
    const { openNative } = await import('../native/index.js');
    const backend = await openNative();
    return { backend, kind, stateDir: stateDirOf(options, defaultStateDir), xenSymbols: readXenSymbols };
  }
  const { openMockBackend, resolveMockStateDir } = await import('../mock/index.js');
  const mockStateDir = resolveMockStateDir(options.mockState);
  if (implied)
    out?.notice(
      `no Xen here (${PRIVCMD_PATH} is missing): using the simulated hypervisor ` +
        `in ${mockStateDir} (--backend mock; --backend native insists on Xen)`,
    );
  // Both keep their lock in a file named `lock`: sharing a directory, a workflow would wait for
  // the lock it holds itself at its first hypercall.
  if (options.stateDir !== undefined && samePath(options.stateDir, mockStateDir)) {
    throw new UsageError(
      `--state-dir ${options.stateDir} is the mock hypervisor's state directory; ` +
        `give xlp a directory of its own (default: <mock-state>/workflow)`,
    );
  }
  // Only `xlp mock init` creates a simulator: every other command reports a missing one. Each
  // hypercall takes the simulator's own lock: --lock-timeout bounds that wait as the host lock's.
  const { lockTimeoutMs } = timings(options);
  const backend = await openMockBackend({
    stateDir: mockStateDir,
    ifMissing: 'error',
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
  });
  // The mock resolves undefined symbols against its own identity; preflight needs no table here.
  return {
    backend,
    kind,
    stateDir: stateDirOf(options, () => join(mockStateDir, 'workflow')),
    mockStateDir,
    xenSymbols: async () => undefined,
  };
}

/** Whether two paths name the same directory (through symbolic links too, when they exist). */
function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

/** --lock-timeout and --timeout in ms (UsageError when malformed). */
function timings(options: BackendOptions): { lockTimeoutMs?: number; waitTimeoutMs?: number } {
  return {
    ...(options.lockTimeout ? { lockTimeoutMs: parseDuration(options.lockTimeout, '--lock-timeout') } : {}),
    ...(options.timeout ? { waitTimeoutMs: parseDuration(options.timeout, '--timeout') } : {}),
  };
}

/**
 * Reports on stderr a journal an interrupted workflow left (mutating commands refuse to run until
 * `xlp recover`). A state directory that does not exist yet, or is not private, has nothing to say.
 */
async function reportInterrupted(stateDir: string, out: Output): Promise<void> {
  const { interruptedJournal, journalOrigin, JournalCorruptError } = await import('../workflow/index.js');
  let pending;
  try {
    pending = await interruptedJournal(stateDir);
  } catch (e) {
    // A journal that cannot be used blocks every mutating command: say so here too.
    if (e instanceof JournalCorruptError) out.warn(e.message);
    return;
  }
  if (pending)
    out.warn(`${journalOrigin(pending)} left a journal; run \`xlp recover\` ` + `(or \`xlp recover --complete\`) before changing anything`);
}

/**
 * A backend for the commands that only read (`list`, `status`): without the workflows' machinery,
 * so they start fast. The journal warning is given as for the others.
 */
export async function openReader(options: BackendOptions, out: Output): Promise<{ opened: OpenedBackend; done: () => Promise<void> }> {
  timings(options); // unused here, but a bad value is still a usage error
  const opened = await openBackend(options, out);
  try {
    await reportInterrupted(opened.stateDir, out);
  } catch (error) {
    await opened.backend.close();
    throw error;
  }
  return { opened, done: () => opened.backend.close() };
}

export interface OpenedLivepatcher {
  readonly lp: Livepatcher;
  readonly opened: OpenedBackend;
  /** Aborted by the first Ctrl-C (SIGINT): the workflow stops waiting and says so; a second one kills. */
  readonly signal: AbortSignal;
  readonly done: () => Promise<void>;
}

/**
 * Opens a Livepatcher for a command, with its progress shown the way the output mode wants. A
 * journal left by an interrupted workflow is reported on stderr (`reportJournal`, default on):
 * mutating commands then refuse to run until `xlp recover`.
 */
export async function openLivepatcher(
  options: BackendOptions,
  out: Output,
  how: { reportJournal?: boolean; streamSteps?: boolean; readOnly?: boolean } = {},
): Promise<OpenedLivepatcher> {
  const { lockTimeoutMs, waitTimeoutMs } = timings(options);
  const opened = await openBackend(options, out);
  let lp: Livepatcher;
  try {
    const { Livepatcher } = await import('../workflow/index.js');
    lp = await Livepatcher.open({
      backend: opened.backend,
      stateDir: opened.stateDir,
      xenSymbols: opened.xenSymbols,
      ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
      ...(waitTimeoutMs === undefined ? {} : { waitTimeoutMs }),
      ...(how.readOnly ? { createStateDir: false } : {}),
    });
    if (how.reportJournal !== false) await reportInterrupted(opened.stateDir, out);
  } catch (error) {
    await opened.backend.close();
    throw error;
  }
  const spinner = out.interactive ? new Spinner(out.stderr) : null;
  const ac = new AbortController();
  lp.on('progress', (e) => showProgress(e, out, spinner, ac.signal));
  // Multi-step commands say what each step did as it completes, between the hook lines of stderr.
  if (how.streamSteps) lp.on('progress', (e) => streamStep(e, out));
  const onSigint = (): void => ac.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  return {
    lp,
    opened,
    signal: ac.signal,
    done: async () => {
      process.removeListener('SIGINT', onSigint);
      spinner?.stop();
      await lp.close();
    },
  };
}

function streamStep(e: ProgressEvent, out: Output): void {
  if (e.phase !== 'done') return;
  if (e.action === 'UPLOAD') out.partial(uploadText(e.payload, e.bytes ?? 0, e.findings ?? []));
  else out.partial(actionText({ payload: e.payload, action: e.action, outcome: e.outcome, elapsedMs: e.elapsedMs ?? 0 }, out));
}

function showProgress(e: ProgressEvent, out: Output, spinner: Spinner | null, interrupted: AbortSignal): void {
  switch (e.phase) {
    case 'settling': {
      spinner?.stop();
      const seconds = e.waitMs >= 1000 ? `${Math.round(e.waitMs / 1000)} s` : `${e.waitMs} ms`;
      const then =
        e.before === 'recovering'
          ? 'recovering'
          : e.before.startsWith('undoing') || e.before.startsWith('restoring')
            ? e.before
            : `issuing ${e.before}`;
      out.notice(
        `the ${e.action} of ${e.payload} (issued by pid ${e.issuedBy}) is still pending ` +
          `in the hypervisor; waiting up to ${seconds} for it to complete before ${then} ` +
          (interrupted.aborted ? '(Ctrl-C again kills xlp and leaves the rest to `xlp recover`)' : '(Ctrl-C stops waiting)'),
      );
      return;
    }
    case 'hook': {
      const what = e.vetoed ? `vetoed (rc=${e.rc})` : e.rc === undefined ? 'called' : `called with rc=${e.rc}`;
      spinner?.stop();
      out.info(`  ${e.hook} hook of ${e.payload}: ${what}`);
      return;
    }
    case 'step':
      spinner?.stop();
      out.info(`step ${e.index}/${e.total}: ${e.description}`);
      return;
    case 'done':
      spinner?.stop();
      return;
    case 'waiting':
      spinner?.update(`waiting for ${e.action} of ${e.payload} (${Math.round(e.elapsedMs)} ms)`);
      return;
    default:
      spinner?.update(`${e.phase} ${e.payload}`);
  }
}
