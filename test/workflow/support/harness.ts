/**
 * An in-process hypervisor (MockHypervisor on a ManualClock) and a Livepatcher on a fresh state
 * directory, with a spy on every backend call so tests can say which hypercalls were (not) made.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Backend } from '../../../lib/backend/backend.js';
import { ManualClock, MockHypervisor, type MockHypervisorOptions, type MockIdentityInput } from '../../../lib/mock/index.js';
import { Livepatcher, type LivepatcherOptions } from '../../../lib/workflow/livepatcher.js';
import type { ProgressEvent } from '../../../lib/workflow/progress.js';
import { WF_XEN } from './payloads.js';

export interface BackendCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** Wraps a backend so every call is recorded (in order) before it is made. */
export function spyBackend<B extends Backend>(backend: B): { backend: B; calls: BackendCall[] } {
  const calls: BackendCall[] = [];
  const proxy = new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(prop), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { backend: proxy, calls };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

export async function tempDir(prefix = 'xlp-wf-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface Harness {
  readonly xen: MockHypervisor;
  readonly clock: ManualClock;
  readonly lp: Livepatcher;
  readonly stateDir: string;
  /** Every backend call the Livepatcher made. */
  readonly calls: BackendCall[];
  /** Progress events so far. */
  readonly events: ProgressEvent[];
  /** The ACTION hypercalls made so far, as "APPLY name". */
  actions(): string[];
  /** The debug keys sent so far (each `x` floods the hypervisor's console). */
  debugKeys(): string[];
  /** When true (default), the clock moves on each time the workflow waits, so actions complete. */
  autoAdvance: boolean;
}

export interface HarnessOptions {
  readonly identity?: MockIdentityInput;
  readonly mock?: Omit<MockHypervisorOptions, 'identity' | 'clock'>;
  readonly livepatcher?: Partial<Omit<LivepatcherOptions, 'backend' | 'stateDir'>>;
  /** Wrap the backend (after the spy) — e.g. to make its console unreadable. */
  readonly wrap?: (b: Backend) => Backend;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock(1_000);
  const xen = new MockHypervisor({ ...options.mock, identity: { buildId: WF_XEN, ...options.identity }, clock });
  const spied = spyBackend(xen);
  const stateDir = join(await tempDir(), 'state');
  const lp = await Livepatcher.open({
    waitTimeoutMs: 2_000,
    lockTimeoutMs: 2_000,
    ...options.livepatcher,
    backend: options.wrap ? options.wrap(spied.backend) : spied.backend,
    stateDir,
  });
  const events: ProgressEvent[] = [];
  const h: Harness = {
    xen,
    clock,
    lp,
    stateDir,
    calls: spied.calls,
    events,
    autoAdvance: true,
    actions: () => spied.calls.filter((c) => c.method === 'action').map((c) => `${String(c.args[1])} ${String(c.args[0])}`),
    debugKeys: () => spied.calls.filter((c) => c.method === 'sendDebugKeys').map((c) => String(c.args[0])),
  };
  lp.on('progress', (e) => {
    events.push(e);
    if (e.phase === 'waiting' && h.autoAdvance) clock.advance(10);
  });
  return h;
}

/** A backend whose console cannot be read (XSM may deny it): Xen's lines are then never seen. */
export function noConsole(b: Backend): Backend {
  return new Proxy(b, {
    get(t, prop, r) {
      if (prop === 'readConsole') return async () => Promise.reject(new Error('EPERM'));
      const v = Reflect.get(t, prop, r) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** The applied stack (bottom first) and every payload's state and rc, from the mock itself. */
export async function snapshot(xen: MockHypervisor): Promise<{ applied: string[]; payloads: Record<string, string> }> {
  const s = await xen.inspect();
  return {
    applied: [...s.applied],
    payloads: Object.fromEntries(s.payloads.map((p) => [p.name, `${p.state}${p.rc ? ` ${p.rc}` : ''}`])),
  };
}
