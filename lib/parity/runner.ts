/**
 * Runs a parity scenario on any `Backend` and records every step (result, status, console lines,
 * and on the mock the hook calls) as JSON-friendly data. Expectations are checked separately
 * (check.ts), so the same record can be compared with another backend's.
 */
import type { Backend } from '../backend/backend.js';
import { hasPagedList } from '../backend/paged-list.js';
import type { HookCall } from '../mock/hooks.js';
import { PAYLOAD_NAME_MAX } from '../xen/domain.js';
import { ERRNO, errnoCode } from '../xen/errno.js';
import { XenError } from '../xen/errors.js';
import type {
  ArgumentErrorName,
  ExpectedStatus,
  ParityRequirement,
  ParityScenario,
  ParityStep,
  PayloadProvider,
  ScenarioRecord,
  StepRecord,
} from './types.js';

/** The mock's hook log, when the backend is the mock. */
export interface HookLog {
  hookCalls(sinceSeq?: number): Promise<HookCall[]>;
}

export interface ParityRunOptions {
  readonly backend: Backend;
  readonly payloads: PayloadProvider;
  /** Give it for a mock backend: hook calls are then recorded. */
  readonly hookLog?: HookLog;
  /** How to let time pass; a mock with a manual clock passes one that advances it. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Give up waiting for scheduled work after this long (default 5 s). */
  readonly waitTimeoutMs?: number;
  /** What the backend offers beyond `Backend` (default: paged list if it has one, smp true). */
  readonly capabilities?: Partial<Record<ParityRequirement, boolean>>;
  /** Revert and unload what the scenario left behind (default true). */
  readonly cleanup?: boolean;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const EAGAIN = -ERRNO.EAGAIN;

function lines(text: string): string[] {
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

async function statusOf(backend: Backend, name: string): Promise<ExpectedStatus> {
  try {
    const s = await backend.get(name);
    return { state: s.state, rc: s.rc };
  } catch (e) {
    // No such payload; or a name Xen (EINVAL) or the backend itself (RangeError) cannot even take,
    // which no payload can have.
    if (e instanceof XenError && (e.code === 'ENOENT' || e.code === 'EINVAL')) return 'absent';
    if (e instanceof RangeError) return 'absent';
    throw e;
  }
}

/** Polls GET until the payload's rc leaves -EAGAIN. */
async function waitDone(backend: Backend, name: string, sleep: (ms: number) => Promise<void>, timeoutMs: number): Promise<number> {
  let polls = 0;
  let waited = 0;
  let delay = 1;
  for (;;) {
    polls++;
    const s = await statusOf(backend, name);
    if (s === 'absent' || s.rc !== EAGAIN) return polls;
    if (waited >= timeoutMs) return polls;
    await sleep(delay);
    waited += delay;
    delay = Math.min(delay * 2, 50);
  }
}

function missing(s: ParityScenario, backend: Backend, caps: Partial<Record<ParityRequirement, boolean>>): string | null {
  for (const r of s.requires ?? []) {
    const has =
      r === 'mock' ? backend.kind === 'mock' : r === 'paged-list' ? (caps['paged-list'] ?? hasPagedList(backend)) : (caps[r] ?? true);
    if (!has) return `needs ${r}`;
  }
  return null;
}

export async function runParityScenario(scenario: ParityScenario, options: ParityRunOptions): Promise<ScenarioRecord> {
  const { backend, payloads } = options;
  const sleep = options.sleep ?? realSleep;
  const timeout = options.waitTimeoutMs ?? 5_000;
  const base = { scenario: scenario.id, backend: backend.kind, xenBuildId: (await backend.xenVersion()).buildId };
  const skip = missing(scenario, backend, options.capabilities ?? {});
  if (skip) return { ...base, skipped: skip, steps: [], cleanup: [] };

  await backend.readConsole({ incremental: true }); // start from an empty page
  let hookSeq = options.hookLog ? ((await options.hookLog.hookCalls()).at(-1)?.seq ?? 0) : 0;
  const uploaded = new Set<string>();
  const steps: StepRecord[] = [];

  for (const [index, step] of scenario.steps.entries()) {
    const rec: { -readonly [K in keyof StepRecord]: StepRecord[K] } = { index, op: step.op, result: 'ok', console: [] };
    if ('name' in step && step.name !== undefined) rec.name = step.name;
    try {
      await runStep(step, rec, { backend, payloads, sleep, timeout });
      if (step.op === 'upload') uploaded.add(step.name);
      if (step.op === 'unload') uploaded.delete(step.name);
    } catch (e) {
      if (e instanceof XenError) rec.result = errnoCode(e.errno);
      else if (e instanceof TypeError || e instanceof RangeError) rec.result = e.name as ArgumentErrorName;
      else throw e;
      rec.message = e.message;
    }
    if (rec.name !== undefined && step.op !== 'list' && step.op !== 'list-page' && step.op !== 'debug-key')
      rec.status = await statusOf(backend, rec.name);
    const others = step.expect.statuses ? Object.keys(step.expect.statuses) : [];
    if (others.length) {
      rec.statuses = {};
      for (const n of others) rec.statuses[n] = await statusOf(backend, n);
    }
    rec.console = lines(await backend.readConsole({ incremental: true }));
    if (options.hookLog) {
      const calls = await options.hookLog.hookCalls(hookSeq);
      hookSeq = calls.at(-1)?.seq ?? hookSeq;
      rec.hooks = calls.map((c) => ({ kind: c.kind, payload: c.payload, symbol: c.symbol, rc: c.rc, payloadRc: c.payloadRc }));
    }
    steps.push(rec);
  }

  const cleanup = options.cleanup === false ? [] : await cleanUp(backend, [...uploaded], sleep, timeout);
  return { ...base, steps, cleanup };
}

async function runStep(
  step: ParityStep,
  rec: { -readonly [K in keyof StepRecord]: StepRecord[K] },
  ctx: { backend: Backend; payloads: PayloadProvider; sleep: (ms: number) => Promise<void>; timeout: number },
): Promise<void> {
  const { backend } = ctx;
  switch (step.op) {
    case 'upload': {
      const bytes = typeof step.payload === 'string' ? await ctx.payloads.bytes(step.payload) : new Uint8Array(step.payload.zeros);
      await backend.upload(step.name, bytes);
      return;
    }
    case 'apply':
    case 'revert':
    case 'replace':
    case 'unload': {
      const action = step.op.toUpperCase() as 'APPLY' | 'REVERT' | 'REPLACE' | 'UNLOAD';
      await backend.action(step.name, action, {
        ...(step.nodeps ? { nodeps: true } : {}),
        ...(step.timeoutNs ? { timeoutNs: step.timeoutNs } : {}),
      });
      if (action !== 'UNLOAD' && step.wait !== false) rec.polls = await waitDone(backend, step.name, ctx.sleep, ctx.timeout);
      return;
    }
    case 'get':
      await backend.get(step.name);
      return;
    case 'list':
      rec.list = (await backend.list()).map((e) => ({
        name: e.name,
        state: e.state,
        rc: e.rc,
        metadata: Buffer.from(e.metadata).toString('latin1'),
      }));
      return;
    case 'list-page': {
      if (!hasPagedList(backend)) throw new Error('list-page needs a PagedListBackend');
      // Buffers as libxenctrl sizes them (a name slot per entry, room for any metadata): Xen 4.21+
      // checks them (ENOBUFS), older versions trust the caller.
      const page = await backend.listPage({
        idx: step.idx,
        nr: step.nr,
        nameBufferSize: step.nr * (PAYLOAD_NAME_MAX + 1),
        metadataBufferSize: 0xffff_ffff,
      });
      rec.page = { entries: page.entries.length, remaining: page.remaining, version: page.version };
      return;
    }
    case 'debug-key':
      await backend.sendDebugKeys(step.key);
      return;
    case 'idle':
      await ctx.sleep(step.ms);
      return;
  }
}

/** Best effort: revert what is applied (top first, retrying a vetoing pre-revert), then unload. */
async function cleanUp(backend: Backend, names: string[], sleep: (ms: number) => Promise<void>, timeout: number): Promise<string[]> {
  const log: string[] = [];
  for (let round = 0; round < 2 * names.length + 3; round++) {
    const applied = (await backend.list()).filter((e) => names.includes(e.name) && e.state === 'APPLIED');
    if (applied.length === 0) break;
    for (const e of applied) {
      try {
        await backend.action(e.name, 'REVERT');
        await waitDone(backend, e.name, sleep, timeout);
        log.push(`revert ${e.name}: ok`);
      } catch (err) {
        log.push(`revert ${e.name}: ${err instanceof XenError ? err.code : String(err)}`);
      }
    }
  }
  for (const n of names) {
    try {
      await backend.action(n, 'UNLOAD');
      log.push(`unload ${n}: ok`);
    } catch (err) {
      log.push(`unload ${n}: ${err instanceof XenError ? err.code : String(err)}`);
    }
  }
  return log;
}
