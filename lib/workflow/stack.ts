import type { BuildIdHex, HookKind, PayloadState } from '../xen/domain.js';
import { VETOING_HOOK_KINDS } from '../xen/domain.js';

/**
 * The applied stack as the hypervisor holds it. Xen reports which payloads are applied (LIST) but
 * not their order nor their build-ids. The order follows from the build-ids: APPLY with dependency
 * checks accepts a payload only if its `.livepatch.depends` names the top of the stack (the
 * hypervisor itself when the stack is empty), so following the chain from the hypervisor's
 * build-id gives positions 1, 2, ... exactly. Payloads applied with `--nodeps` break the chain:
 * their place is the order in which xlp applied them, which another tool may have changed.
 *
 * The build-ids come from what is certain first: xlp's registry of what it uploaded (checked
 * against LIST), and only when a payload xlp did not upload is applied, from the hypervisor's `x`
 * dump, whose beginning the console ring may have lost.
 */

/** Where a loaded payload's build-id and dependencies come from. */
export type PayloadEvidence =
  /** xlp's record of its upload, which LIST agrees with (and the `x` dump too, when it was read). */
  | 'registry'
  /** The hypervisor's `x` dump. */
  | 'dump'
  /** Neither: not uploaded by xlp (or changed since), and its block of the dump is lost or unread. */
  | 'unknown';

/** How an applied payload's place in the stack is known. */
export type StackPlacement =
  /** Proven by the build-id chain from the hypervisor. */
  | 'chain'
  /** The order in which xlp applied it (`--nodeps` broke the chain): true unless another tool reordered it. */
  | 'recorded'
  /** Not known: shown in upload order. */
  | 'unknown';

/** How much of the applied order is known: the weakest placement of any applied payload. */
export type OrderCertainty = 'certain' | 'recorded' | 'uncertain';

/** What became of the `x` dump for this view. */
export type DumpUse =
  /** Not pressed: every applied payload is one xlp uploaded and recorded. */
  | 'not-needed'
  | 'complete'
  /** The dump did not fit the console ring; its surviving tail was used. */
  | 'truncated'
  /** Xen's payload lock stayed taken while it was asked. */
  | 'lock-held'
  /** The key could not be sent or the console not read. */
  | 'unavailable';

export interface StackCertainty {
  readonly order: OrderCertainty;
  readonly dump: DumpUse;
  /** Sentences saying what is not known and why; empty when the order is certain and nothing is missing. */
  readonly notes: readonly string[];
}

export interface StackEntry {
  /** 1 is the bottom of the stack. */
  readonly position: number;
  readonly name: string;
  readonly buildId: BuildIdHex | null;
  readonly dependsOn: BuildIdHex | null;
  /** Hooks known from the payload file (null: uploaded by another tool, not known). */
  readonly hooks: readonly HookKind[] | null;
  readonly vetoingHooks: readonly HookKind[] | null;
  /** True when the entry's place follows from the build-id chain (`placement` is 'chain'). */
  readonly chained: boolean;
  readonly placement: StackPlacement;
  readonly evidence: PayloadEvidence;
}

/** A loaded payload as LIST shows it, with its build-ids where they are known. */
export interface LoadedPayload {
  readonly name: string;
  readonly state: PayloadState;
  readonly buildId: BuildIdHex | null;
  readonly dependsOn: BuildIdHex | null;
  readonly dependsOnXen: BuildIdHex | null;
  /** `.modinfo` strings, from LIST. */
  readonly metadata: readonly string[];
  readonly evidence: PayloadEvidence;
}

export interface StackView {
  readonly xenBuildId: BuildIdHex | null;
  /** Applied payloads, bottom first. */
  readonly applied: readonly StackEntry[];
  /** Every loaded payload in upload order. */
  readonly loaded: readonly LoadedPayload[];
  /** `certainty.order === 'certain'`. */
  readonly orderCertain: boolean;
  readonly certainty: StackCertainty;
}

/** What xlp knows of a loaded payload beyond its build-ids: hooks, and how it applied it. */
export interface KnownPayload {
  readonly hooks: readonly HookKind[];
  /** Increases with each apply this tool made; absent when never applied by it. */
  readonly appliedSeq?: number;
  /** xlp applied it with --nodeps: its depends note proves nothing about its place. */
  readonly appliedNodeps?: boolean;
}

export interface StackInputs {
  readonly xenBuildId: BuildIdHex | null;
  /** Every loaded payload, in upload order. */
  readonly loaded: readonly LoadedPayload[];
  /** xlp's facts about a payload whose registry record is trusted (`evidence` 'registry'). */
  readonly known: (name: string) => KnownPayload | null;
  readonly dump: DumpUse;
  /** Why the dump was pressed or what came of it, for the notes. */
  readonly dumpNotes?: readonly string[];
}

/** Orders the applied payloads, bottom first, and says how sure that order is. */
export function orderStack(inputs: StackInputs): StackView {
  const applied = inputs.loaded.filter((p) => p.state === 'APPLIED');
  const placed: { p: LoadedPayload; placement: StackPlacement }[] = [];
  const remaining = new Set(applied);
  // Payloads by what they depend on: the chain is followed in one pass, whatever the stack's size.
  const byDepends = new Map<BuildIdHex, LoadedPayload[]>();
  for (const p of applied) {
    if (p.dependsOn === null || inputs.known(p.name)?.appliedNodeps) continue;
    const list = byDepends.get(p.dependsOn);
    if (list) list.push(p);
    else byDepends.set(p.dependsOn, [p]);
  }
  let below = inputs.xenBuildId;
  while (below !== null) {
    const next = (byDepends.get(below) ?? []).filter((p) => remaining.has(p));
    if (next.length !== 1) break;
    const p = next[0]!;
    placed.push({ p, placement: 'chain' });
    remaining.delete(p);
    below = p.buildId;
  }
  const uploadIndex = new Map(applied.map((p, i) => [p, i]));
  const rest = [...remaining].sort((a, b) => {
    const sa = inputs.known(a.name)?.appliedSeq ?? Number.MAX_SAFE_INTEGER;
    const sb = inputs.known(b.name)?.appliedSeq ?? Number.MAX_SAFE_INTEGER;
    return sa - sb || uploadIndex.get(a)! - uploadIndex.get(b)!;
  });
  for (const p of rest) placed.push({ p, placement: inputs.known(p.name)?.appliedSeq === undefined ? 'unknown' : 'recorded' });

  const entries = placed.map(({ p, placement }, i): StackEntry => {
    const hooks = p.evidence === 'registry' ? (inputs.known(p.name)?.hooks ?? null) : null;
    return {
      position: i + 1,
      name: p.name,
      buildId: p.buildId,
      dependsOn: p.dependsOn,
      hooks,
      vetoingHooks: hooks ? hooks.filter((h) => VETOING_HOOK_KINDS.includes(h)) : null,
      chained: placement === 'chain',
      placement,
      evidence: p.evidence,
    };
  });
  const order: OrderCertainty = entries.some((e) => e.placement === 'unknown')
    ? 'uncertain'
    : entries.some((e) => e.placement === 'recorded')
      ? 'recorded'
      : 'certain';
  return {
    xenBuildId: inputs.xenBuildId,
    applied: entries,
    loaded: inputs.loaded,
    orderCertain: order === 'certain',
    certainty: { order, dump: inputs.dump, notes: [...(inputs.dumpNotes ?? []), ...placementNotes(entries)] },
  };
}

function names(entries: readonly StackEntry[]): string {
  const shown = entries.slice(0, 5).map((e) => JSON.stringify(e.name));
  return entries.length > 5 ? `${shown.join(', ')} and ${entries.length - 5} more` : shown.join(', ');
}

function placementNotes(entries: readonly StackEntry[]): string[] {
  const notes: string[] = [];
  const unknownIds = entries.filter((e) => e.evidence === 'unknown');
  if (unknownIds.length)
    notes.push(
      `build-id not known for ${names(unknownIds)}: not uploaded ` + `by xlp and not in the part of the x dump that could be read`,
    );
  const recorded = entries.filter((e) => e.placement === 'recorded');
  if (recorded.length)
    notes.push(`${names(recorded)} placed in the order xlp applied ` + `them (applied with --nodeps, or off the build-id chain)`);
  const unknown = entries.filter((e) => e.placement === 'unknown');
  if (unknown.length) notes.push(`place in the stack not known for ${names(unknown)}: shown above the proven part, in upload order`);
  return notes;
}
