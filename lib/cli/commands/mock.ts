/**
 * `xlp mock ...`: create and steer the mock hypervisor kept in a state directory (--mock-state,
 * XLP_MOCK_STATE, default $XDG_STATE_HOME/xen-livepatch/mock).
 */
import {
  checkHookScript,
  type HookScript,
  initMockState,
  MockConfigError,
  type MockIdentityInput,
  mockXenVersion,
  openMockBackend,
  parseRcSequence,
  readNmSymbols,
  resolveIdentity,
  resolveMockStateDir,
  type XenHelperCall,
} from '../../mock/index.js';
import { validatePayloadName } from '../../workflow/index.js';
import { errnoCode, HOOK_KINDS, type HookKind } from '../../xen/index.js';
import { parseBackend } from '../parse.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommonOptions } from '../command-options.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';
import { parseXenVersionOption } from '../xen-version-option.js';

export interface MockCommonOptions extends CommonOptions {
  readonly mockState?: string;
  /** Accepted as every command accepts it, but these commands only ever act on the simulator. */
  readonly backend?: string;
}

/** The state directory of a `mock` command; `--backend`, if given, must be `mock`. */
function mockDir(o: MockCommonOptions): string {
  if (o.backend !== undefined && parseBackend(o.backend, '--backend') !== 'mock') {
    throw new UsageError('`xlp mock` commands act on the simulated hypervisor: --backend native does not apply to them');
  }
  return resolveMockStateDir(o.mockState);
}

/** A mock option the library refuses (MockConfigError) is a usage error of the command line. */
function configured<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MockConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export interface InitOptions extends MockCommonOptions {
  /** A string, or false for --no-build-id. */
  readonly buildId?: string | false;
  readonly xenVersion?: string;
  readonly symbols?: string;
  readonly quiesceMs?: string;
  readonly rendezvousNs?: string;
  readonly cpus?: string;
  readonly loglvl?: string;
  readonly memory?: string[];
  readonly force?: boolean;
}

/** --symbols: a readable nm-format table, else a usage error naming the file. */
async function symbolsOption(file: string) {
  try {
    return await readNmSymbols(file);
  } catch (e) {
    if (e instanceof MockConfigError) throw new UsageError(`--symbols: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`--symbols: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message)}`);
  }
}

function number(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a non-negative number, not ${JSON.stringify(text)}`);
  return n;
}

export async function init(_args: [], o: InitOptions, out: Output): Promise<ExitCode> {
  const dir = mockDir(o);
  const memory: Record<string, string> = {};
  for (const m of o.memory ?? []) {
    const eq = m.indexOf('=');
    if (eq < 1) throw new UsageError(`--memory takes SYMBOL=HEXBYTES, not ${JSON.stringify(m)}`);
    memory[m.slice(0, eq)] = m.slice(eq + 1);
  }
  const quiesceMs = number(o.quiesceMs, '--quiesce-ms');
  const rendezvousNs = number(o.rendezvousNs, '--rendezvous-ns');
  const cpus = number(o.cpus, '--cpus');
  const identity: MockIdentityInput = {
    // Without --build-id the documented default identity's build-id is used (DEFAULT_MOCK_BUILD_ID).
    ...(o.buildId === false ? { buildId: null } : typeof o.buildId === 'string' ? { buildId: o.buildId } : {}),
    ...(o.xenVersion ? { version: mockXenVersion(parseXenVersionOption(o.xenVersion)) } : {}),
    ...(o.symbols ? { symbols: await symbolsOption(o.symbols) } : {}),
    ...(quiesceMs === undefined ? {} : { quiesceMs }),
    ...(rendezvousNs === undefined ? {} : { rendezvousNs }),
    ...(cpus === undefined ? {} : { cpus }),
    ...(o.loglvl ? { loglvl: o.loglvl } : {}),
    ...(Object.keys(memory).length ? { memory } : {}),
  };
  // Every option is checked before the directory is touched.
  configured(() => resolveIdentity(identity));
  await initMockState(dir, identity, { force: o.force === true });
  const mock = await openMockBackend({ stateDir: dir, ifMissing: 'error' });
  const snap = await mock.inspect();
  await mock.close();
  out.result({ stateDir: dir, identity: snap.identity }, () =>
    [
      `mock hypervisor created in ${dir}`,
      `  Xen ${snap.identity.version.major}.${snap.identity.version.minor}${snap.identity.version.extra}, build-id ${snap.identity.buildId ?? '(none)'}`,
      `  symbols: ${snap.identity.symbolCount ?? 'none (undefined symbols are accepted with a warning)'}; quiesce ${snap.identity.quiesceMs} ms; ${snap.identity.cpus} CPUs; loglvl=${snap.identity.loglvl}`,
    ].join('\n'),
  );
  return EXIT.OK;
}

export interface HookOptions extends MockCommonOptions {
  readonly rc?: string;
  readonly symbol?: string;
  readonly printk?: string[];
  readonly calls?: string;
  readonly fstate?: string;
  readonly bug?: boolean;
  readonly clear?: boolean;
}

export async function hook([name, kind]: [string, string], o: HookOptions, out: Output): Promise<ExitCode> {
  if (!HOOK_KINDS.includes(kind as HookKind)) throw new UsageError(`hook kind must be one of ${HOOK_KINDS.join(', ')}, not ${JSON.stringify(kind)}`);
  validatePayloadName(name);
  const selector = { payload: name, kind: kind as HookKind, ...(o.symbol ? { symbol: o.symbol } : {}) };
  const mock = await openMockBackend({ stateDir: mockDir(o), ifMissing: 'error' });
  try {
    if (o.clear) {
      const n = await mock.clearHooks(selector);
      out.result({ cleared: n, selector }, () => `cleared ${n} rule(s) for ${name} ${kind}${o.symbol ? ` (${o.symbol})` : ''}`);
      return EXIT.OK;
    }
    let script: HookScript;
    try {
      script = checkHookScript({
        ...(o.rc !== undefined ? { rc: parseRcSequence(o.rc) } : {}),
        ...(o.printk?.length ? { printk: o.printk } : {}),
        ...(o.calls ? { calls: o.calls.split(',').map((c) => c.trim()) as XenHelperCall[] } : {}),
        ...(o.fstate ? { fstate: o.fstate } : {}),
        ...(o.bug ? { bug: true } : {}),
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const id = await mock.setHook(selector, script);
    const rcText = script.rc === undefined ? 'rc 0' : `rc ${Array.isArray(script.rc) ? script.rc.join(' then ') : script.rc}`;
    out.result({ id, selector, script }, () => `${name} ${kind}${o.symbol ? ` (${o.symbol})` : ''}: ${rcText}${script.bug ? ', BUG()' : ''} (rule ${id})`);
    return EXIT.OK;
  } finally {
    await mock.close();
  }
}

export async function status(_args: [], o: MockCommonOptions, out: Output): Promise<ExitCode> {
  const mock = await openMockBackend({ stateDir: mockDir(o), ifMissing: 'error' });
  try {
    const snap = await mock.inspect();
    const rules = await mock.hookRules();
    const warnings = await mock.warnings();
    out.result({ ...snap, hookRules: rules, warnings }, () => {
      const l: string[] = [];
      const id = snap.identity;
      l.push(`Xen ${id.version.major}.${id.version.minor}${id.version.extra}  build-id ${id.buildId ?? '(none)'}  ${id.cpus} CPUs  quiesce ${id.quiesceMs} ms  loglvl=${id.loglvl}`);
      if (snap.panic) l.push(`PANICKED: ${snap.panic}`);
      if (snap.payloads.length === 0) l.push('no payloads');
      for (const p of snap.payloads) {
        const pos = snap.applied.indexOf(p.name);
        l.push(`  ${p.name.padEnd(32)} ${p.state.padEnd(8)} ${`rc ${p.rc}${p.rc ? ` (${errnoCode(p.rc)})` : ''}`.padEnd(16)}${pos >= 0 ? `  stack #${pos + 1}` : ''}`);
      }
      if (snap.pending) l.push(`pending: ${snap.pending.cmd} ${snap.pending.name}`);
      for (const r of rules) l.push(`hook rule ${r.id}: ${JSON.stringify(r.selector)} -> ${JSON.stringify(r.behaviour)} (called ${r.calls}x)`);
      for (const w of warnings.slice(-10)) l.push(`warning: ${w.message}`);
      return l.join('\n');
    });
    return EXIT.OK;
  } finally {
    await mock.close();
  }
}

export async function calls(_args: [], o: MockCommonOptions & { since?: string }, out: Output): Promise<ExitCode> {
  const mock = await openMockBackend({ stateDir: mockDir(o), ifMissing: 'error' });
  try {
    const list = await mock.hookCalls(number(o.since, '--since') ?? 0);
    out.result({ calls: list }, () => list.map((c) => `#${c.seq} ${c.payload} ${c.kind} ${c.symbol ?? '?'}${c.rc === null ? '' : ` rc=${c.rc}`} (payload rc ${c.payloadRc})`).join('\n') || 'no hook calls');
    return EXIT.OK;
  } finally {
    await mock.close();
  }
}

export async function reboot(_args: [], o: MockCommonOptions, out: Output): Promise<ExitCode> {
  const mock = await openMockBackend({ stateDir: mockDir(o), ifMissing: 'error' });
  try {
    await mock.reboot();
    out.result({ rebooted: true }, () => 'mock hypervisor rebooted: no payloads');
    return EXIT.OK;
  } finally {
    await mock.close();
  }
}
