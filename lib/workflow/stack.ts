import type { Backend } from '../backend/backend.js';
import type { BuildIdHex, HookKind } from '../xen/domain.js';
import { VETOING_HOOK_KINDS } from '../xen/domain.js';
import type { ConsoleWatcher } from './console-watcher.js';
import { DUMP_HEADER, type DebugDump, type DumpedPayload, parseDebugDump } from './debug-dump.js';

/**
 * The applied stack as the hypervisor holds it. Xen does not report the stack order itself; its
 * `x` dump lists payloads in upload order with their build-ids and dependencies. Every payload
 * applied with dependency checks depends on the payload below it (or on Xen), so following the
 * build-id chain from the hypervisor's id gives the order exactly. Only payloads applied with
 * `--nodeps` break the chain; for those the order this tool recorded is used, then upload order,
 * and the view says the order is inferred.
 */
export interface StackEntry {
  /** 1 is the bottom of the stack. */
  readonly position: number;
  readonly name: string;
  readonly buildId: BuildIdHex | null;
  readonly dependsOn: BuildIdHex | null;
  /** Hooks known from the payload file (null: uploaded by another tool, not known). */
  readonly hooks: readonly HookKind[] | null;
  readonly vetoingHooks: readonly HookKind[] | null;
  /** True when the entry's place follows from the build-id chain. */
  readonly chained: boolean;
}

export interface StackView {
  readonly xenBuildId: BuildIdHex | null;
  /** Applied payloads, bottom first. */
  readonly applied: readonly StackEntry[];
  /** Every loaded payload in upload order, as the dump shows it. */
  readonly loaded: readonly DumpedPayload[];
  /** False when some of the order had to be inferred (payloads applied with --nodeps). */
  readonly orderCertain: boolean;
}

/** Hooks of a payload and the order in which this tool applied it, when it knows them. */
export interface KnownPayload {
  readonly buildId: BuildIdHex | null;
  readonly hooks: readonly HookKind[];
  /** Increases with each apply this tool made; absent when never applied by it. */
  readonly appliedSeq?: number;
}

export type KnownPayloads = (name: string) => KnownPayload | null;

const DUMP_WAIT_MS = 2000;

const DUMP_ATTEMPTS = 3;

/**
 * Asks the hypervisor for its `x` dump and reads it back from the console. Xen prints "Lock held.
 * Try again." instead of (part of) the dump when its payload lock is taken (an action is running):
 * a partial dump would hide payloads, so it is asked again, and refused if it stays partial.
 */
export async function readDebugDump(backend: Backend, console: ConsoleWatcher): Promise<DebugDump> {
  for (let attempt = 1; ; attempt++) {
    const dump = await readDebugDumpOnce(backend, console);
    if (!dump.incomplete) return dump;
    if (attempt >= DUMP_ATTEMPTS) throw new Error(`the hypervisor's answer to debug key 'x' was cut short ("Lock held. Try again.") ${DUMP_ATTEMPTS} times; retry shortly`);
    await new Promise((r) => setTimeout(r, 10 * attempt));
  }
}

async function readDebugDumpOnce(backend: Backend, console: ConsoleWatcher): Promise<DebugDump> {
  await console.sync();
  await backend.sendDebugKeys('x');
  const deadline = performance.now() + DUMP_WAIT_MS;
  let text = '';
  let started = false;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const chunk = (await console.read()).join('\n');
    if (chunk) text += `${chunk}\n`;
    if (!console.available) throw new Error('the hypervisor console cannot be read, so the stack cannot be inspected');
    if (started && !chunk) break; // a quiet read after the dump began: it is complete
    started ||= text.includes(DUMP_HEADER);
    if (performance.now() > deadline) {
      if (started) break;
      throw new Error("the hypervisor did not answer debug key 'x' on its console");
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  const dump = parseDebugDump(text);
  if (!dump) throw new Error("the hypervisor's answer to debug key 'x' could not be read");
  return dump;
}

/** Orders the applied payloads of a dump, bottom first. */
export function orderStack(dump: DebugDump, known: KnownPayloads): StackView {
  const applied = dump.payloads.filter((p) => p.state === 'APPLIED');
  const placed: { p: DumpedPayload; chained: boolean }[] = [];
  const remaining = new Set(applied);
  let below = dump.xenBuildId;
  while (below !== null) {
    const next = [...remaining].filter((p) => p.dependsOn === below);
    if (next.length !== 1) break;
    const p = next[0]!;
    placed.push({ p, chained: true });
    remaining.delete(p);
    below = p.buildId;
  }
  const rest = [...remaining].sort((a, b) => {
    const sa = known(a.name)?.appliedSeq ?? Number.MAX_SAFE_INTEGER;
    const sb = known(b.name)?.appliedSeq ?? Number.MAX_SAFE_INTEGER;
    return sa - sb || applied.indexOf(a) - applied.indexOf(b);
  });
  for (const p of rest) placed.push({ p, chained: false });
  const entries = placed.map(({ p, chained }, i): StackEntry => {
    const k = known(p.name);
    const trusted = k && (k.buildId === null || p.buildId === null || k.buildId === p.buildId) ? k : null;
    const hooks = trusted ? trusted.hooks : null;
    return {
      position: i + 1,
      name: p.name,
      buildId: p.buildId,
      dependsOn: p.dependsOn,
      hooks,
      vetoingHooks: hooks ? hooks.filter((h) => VETOING_HOOK_KINDS.includes(h)) : null,
      chained,
    };
  });
  return { xenBuildId: dump.xenBuildId, applied: entries, loaded: dump.payloads, orderCertain: rest.length === 0 };
}
