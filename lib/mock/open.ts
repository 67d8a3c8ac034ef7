/**
 * Opening a mock hypervisor kept in a state directory: what `xlp --backend mock` and the `xlp mock`
 * commands use, and what tests use to share one simulated hypervisor between processes.
 */
import { join, resolve } from 'node:path';
import { xdgStateHome } from '../fs/state-home.js';
import type { Clock } from './clock.js';
import { MockStateError } from './errors.js';
import { MockHypervisor } from './hypervisor.js';
import { type MockIdentityInput, resolveIdentity } from './identity.js';
import { emptyState, type PreflightFn } from './machine.js';
import { StateDirectory, type StoreOptions } from './store.js';

/** `$XDG_STATE_HOME/xen-livepatch/mock`, else `~/.local/state/xen-livepatch/mock`. */
export function defaultMockStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdgStateHome(env), 'xen-livepatch', 'mock');
}

/** The state directory to use: the `--mock-state` flag, else `XLP_MOCK_STATE`, else the default. */
export function resolveMockStateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag || env.XLP_MOCK_STATE || defaultMockStateDir(env));
}

export interface InitMockStateOptions extends StoreOptions {
  /** Replace an existing mock hypervisor in that directory (its payloads are lost). */
  readonly force?: boolean;
}

/** Creates a mock hypervisor with `identity` in `stateDir` (created 0700 if missing). */
export async function initMockState(stateDir: string, identity: MockIdentityInput = {}, options: InitMockStateOptions = {}): Promise<void> {
  const id = resolveIdentity(identity);
  await new StateDirectory(resolve(stateDir), options).init(id, emptyState(id), { force: options.force ?? false });
}

export interface OpenMockOptions extends StoreOptions {
  /** Default: `resolveMockStateDir()`. */
  readonly stateDir?: string;
  /**
   * When the directory holds no mock yet: `create` one with `identity` (default, with the documented
   * default identity), or fail with `MockStateError('not-initialized')`.
   */
  readonly ifMissing?: 'create' | 'error';
  readonly identity?: MockIdentityInput;
  readonly clock?: Clock;
  readonly preflight?: PreflightFn;
  readonly timers?: boolean;
}

/**
 * Opens (or, with `ifMissing: 'create'`, the default, creates) the mock hypervisor of a state
 * directory as a `Backend`. A damaged, foreign or unsafe state is reported now, not on first use.
 */
export async function openMockBackend(options: OpenMockOptions = {}): Promise<MockHypervisor> {
  const dir = resolveMockStateDir(options.stateDir);
  const store = new StateDirectory(dir, options);
  try {
    await store.peek();
  } catch (e) {
    if (!(e instanceof MockStateError && e.problem === 'not-initialized') || options.ifMissing === 'error') throw e;
    try {
      await initMockState(dir, options.identity ?? {}, options);
    } catch (e2) {
      // Another process created it first: fine, use theirs.
      if (!(e2 instanceof MockStateError && e2.problem === 'already-initialized')) throw e2;
    }
    await store.peek();
  }
  return new MockHypervisor(
    {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.preflight ? { preflight: options.preflight } : {}),
      ...(options.timers === undefined ? {} : { timers: options.timers }),
    },
    store,
  );
}
