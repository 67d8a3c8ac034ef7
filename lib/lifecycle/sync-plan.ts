/**
 * The sync plan: the exact hypercalls that make the applied stack equal the installed patches of
 * the running Xen build (the desired stack), or a refusal that says why no plan is safe.
 *
 * - The common base is the longest bottom part of the applied stack equal to the desired stack by
 *   name and build-id. Everything applied above it is reverted, top first; the desired patches
 *   above it are then applied in order, each uploaded first unless a payload xlp uploaded with the
 *   same name, build-id and bytes is loaded and Xen will apply it (not reverted, or safe to
 *   re-apply). A loaded namesake with another build-id (or bytes) is unloaded before the upload, and
 *   so is a payload holding the build-id of one to upload (Xen refuses a second payload with one
 *   build-id). CHECKED payloads xlp uploaded that are not installed are unloaded at the end.
 * - One REPLACE does it all when that is allowed and equivalent: the base is empty, one patch is
 *   desired, it and every applied payload are known to have no vetoing hooks (Xen refuses REPLACE
 *   otherwise), and every applied payload may be touched.
 * - Payloads xlp did not upload are never reverted or unloaded without `prune`. Applied above the
 *   base with nothing to apply, they are left there (drift, reported); when anything has to move
 *   under them, or they hold a name or build-id the desired stack needs, the plan is refused.
 * - An applied order the stack view is not sure of is refused, not guessed.
 * - `boot`: the unattended boot sync only adds to what is applied; a plan that reverts (or
 *   replaces) is refused and left to an operator. `prune` is refused with it.
 * - Nothing to do is an empty plan: the caller makes no mutating hypercall.
 */
import type { BuildIdHex, HookKind } from '../xen/domain.js';
import { LifecycleError, quoteNames } from './errors.js';
import type { HostPayload, HostState } from './host-state.js';

/** What the planner needs of an installed patch. */
export interface DesiredPatch {
  readonly name: string;
  readonly buildId: BuildIdHex | null;
  readonly depends: BuildIdHex | null;
  /** SHA-256 of the installed bytes. */
  readonly sha256: string;
  readonly vetoingHooks: readonly HookKind[];
  readonly safeToReapply: boolean;
}

/** Options of the plan. */
export interface SyncOptions {
  /** Also revert and unload payloads xlp did not upload. */
  readonly prune?: boolean;
  /** The unattended boot sync: only add to the applied stack. */
  readonly boot?: boolean;
}

/** The hypercalls a plan makes. */
export type SyncAction = 'REVERT' | 'UNLOAD' | 'UPLOAD' | 'APPLY' | 'REPLACE';

/** Why a step is in the plan. */
export type SyncStepReason =
  /** REVERT: applied above the common base. */
  | 'above-common-base'
  /** UNLOAD: loaded and not installed (xlp's, or pruned). */
  | 'not-installed'
  /** UNLOAD: a namesake of an installed patch with another build-id or other bytes. */
  | 'other-version'
  /** UNLOAD: holds the build-id of a patch to upload, under another name. */
  | 'build-id-taken'
  /** UNLOAD: the installed patch itself, reverted, and Xen will not apply it twice. */
  | 'not-safe-to-reapply'
  /** UNLOAD: uploaded by another tool; xlp applies only bytes it uploaded (prune). */
  | 'not-uploaded-by-xlp'
  /** UPLOAD: installed and not loaded (or just unloaded). */
  | 'missing'
  /** APPLY: installed, in stack order. */
  | 'installed'
  /** REPLACE: the one installed patch replaces the whole applied stack atomically. */
  | 'replace'
  /** UNLOAD: reverted by the REPLACE. */
  | 'replaced';

/** One hypercall of the plan. */
export interface SyncStep {
  readonly action: SyncAction;
  readonly payload: string;
  readonly reason: SyncStepReason;
  /** The reason as a sentence. */
  readonly why: string;
  /** REPLACE: the applied payloads it reverts, top first. */
  readonly replaces?: readonly string[];
}

/** How the plan converges. */
export type SyncMode =
  /** No step: the host already is as installed (foreign payloads aside). */
  | 'nothing-to-do'
  /** Reverts, uploads, applies and unloads one by one (hooks run as for `replace --sequential`). */
  | 'sequential'
  /** One atomic REPLACE (with the uploads and unloads around it). */
  | 'replace';

/** A payload the plan leaves as it is although it is not installed. */
export interface UntouchedPayload {
  readonly name: string;
  readonly state: 'APPLIED' | 'CHECKED';
  readonly why: string;
}

/** The plan. */
export interface SyncPlan {
  readonly mode: SyncMode;
  readonly steps: readonly SyncStep[];
  /** False when there is no step. */
  readonly changed: boolean;
  /** The desired stack, bottom first. */
  readonly desired: readonly string[];
  /** The common base: the applied payloads kept as they are, bottom first. */
  readonly commonBase: readonly string[];
  /** The applied stack once the plan has run, bottom first. */
  readonly expectedApplied: readonly string[];
  /** Payloads xlp did not upload that the plan leaves loaded (drift, without `prune`). */
  readonly untouched: readonly UntouchedPayload[];
}

/** Why no plan is safe. */
export type SyncRefusalProblem =
  /** The hypervisor reports no build-id: no installed patch can be matched to it. */
  | 'no-xen-build-id'
  /** The desired patches do not chain from the hypervisor's build-id (a store or caller error). */
  | 'desired-not-a-chain'
  /** The stack view cannot say in which order the applied payloads are. */
  | 'order-uncertain'
  /** Payloads xlp did not upload are in the way (without `prune`). */
  | 'foreign-in-the-way'
  /** The boot sync would revert or replace applied payloads. */
  | 'boot-would-revert'
  /** `boot` and `prune` together. */
  | 'boot-with-prune';

/** No plan is safe: nothing was done. */
export class SyncRefusedError extends LifecycleError {
  override readonly name = 'SyncRefusedError';
  readonly code = 'ESYNC';
  readonly category: 'usage' | 'failed';

  constructor(
    readonly problem: SyncRefusalProblem,
    /** The payloads concerned. */
    readonly payloads: readonly string[],
    message: string,
  ) {
    super(message, payloads.length === 1 ? { payload: payloads[0]! } : {});
    this.category = problem === 'boot-with-prune' ? 'usage' : 'failed';
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem, payloads: this.payloads };
  }
}

function checkDesired(desired: readonly DesiredPatch[], xen: BuildIdHex): void {
  const names = new Set<string>();
  const ids = new Set<BuildIdHex>([xen]);
  let below: BuildIdHex | null = xen;
  for (const d of desired) {
    const wrong = names.has(d.name)
      ? 'its name appears twice'
      : d.buildId === null
        ? 'it has no build-id'
        : ids.has(d.buildId)
          ? `its build-id ${d.buildId} is the hypervisor's or another patch's`
          : d.depends !== below
            ? `it depends on ${d.depends ?? 'nothing'}, not ` +
              `on ${below === xen ? `the hypervisor (${xen})` : `the patch below it (${below})`}`
            : null;
    if (wrong)
      throw new SyncRefusedError(
        'desired-not-a-chain',
        [d.name],
        `the installed patches do not form a stack Xen can apply: ${JSON.stringify(d.name)}: ${wrong}`,
      );
    names.add(d.name);
    ids.add(d.buildId!);
    below = d.buildId;
  }
}

/** The applied payloads bottom first, checked against LIST's states. */
function appliedStack(host: HostState, byName: ReadonlyMap<string, HostPayload>): HostPayload[] {
  const applied = host.applied.map((name) => {
    const p = byName.get(name);
    if (!p || p.state !== 'APPLIED')
      throw new RangeError(`host state: ${JSON.stringify(name)} is in the applied order but not an APPLIED loaded payload`);
    return p;
  });
  const count = host.loaded.filter((p) => p.state === 'APPLIED').length;
  if (count !== applied.length || new Set(host.applied).size !== applied.length)
    throw new RangeError('host state: the applied order does not list every APPLIED payload exactly once');
  return applied;
}

/** A loaded payload xlp uploaded from exactly the desired patch's bytes (as far as known). */
function sameUpload(p: HostPayload, d: DesiredPatch): boolean {
  return p.owner === 'xlp' && p.buildId !== null && p.buildId === d.buildId && (p.sha256 === null || p.sha256 === d.sha256);
}

/**
 * The plan that makes the host's applied stack equal `desired` (installed patches of the running
 * build, bottom first), or `SyncRefusedError`.
 */
export function planSync(desired: readonly DesiredPatch[], host: HostState, options: SyncOptions = {}): SyncPlan {
  const prune = options.prune ?? false;
  const boot = options.boot ?? false;
  if (boot && prune)
    throw new SyncRefusedError(
      'boot-with-prune',
      [],
      'the boot sync never prunes: it only restores the installed patches; run `xlp sync --prune` ' + 'yourself',
    );
  const xen = host.xenBuildId;
  if (xen === null)
    throw new SyncRefusedError(
      'no-xen-build-id',
      [],
      'the hypervisor reports no build-id, so no installed patch can be matched to it (Xen refuses ' + 'every upload: ENODATA)',
    );
  checkDesired(desired, xen);
  if (host.order === 'uncertain') {
    throw new SyncRefusedError(
      'order-uncertain',
      [],
      `the order of the applied payloads is not known ` +
        `(${host.orderNotes.join('; ') || 'the stack view is not sure of it'}); sync refuses to guess ` +
        `which payload is on top`,
    );
  }
  const byName = new Map(host.loaded.map((p) => [p.name, p]));
  const current = appliedStack(host, byName);
  const touchable = (p: HostPayload): boolean => p.owner === 'xlp' || prune;

  let k = 0;
  while (
    k < current.length &&
    k < desired.length &&
    current[k]!.name === desired[k]!.name &&
    current[k]!.buildId !== null &&
    current[k]!.buildId === desired[k]!.buildId
  )
    k++;
  const above = current.slice(k);
  const toApply = desired.slice(k);

  // Payloads that may not be touched, applied above the base: left there when nothing has to move under them.
  let highestForeign = -1;
  above.forEach((p, i) => {
    if (!touchable(p)) highestForeign = i;
  });
  const foreignAbove = above.filter((p) => !touchable(p));
  if (foreignAbove.length) {
    const trapped = above.slice(0, highestForeign).filter(touchable);
    if (toApply.length || trapped.length) {
      const under = toApply.length
        ? `the installed ${quoteNames(toApply.map((d) => d.name))} must be applied above the common base`
        : `${quoteNames(trapped.map((p) => p.name))} (uploaded by xlp, not installed) must be reverted ` + `from under them`;
      throw new SyncRefusedError(
        'foreign-in-the-way',
        foreignAbove.map((p) => p.name),
        `${quoteNames(foreignAbove.map((p) => p.name))} ${foreignAbove.length === 1 ? 'was' : 'were'} ` +
          `not uploaded by xlp and ${foreignAbove.length === 1 ? 'is' : 'are'} applied above the common ` +
          `base, where ${under}; sync does not reorder under payloads it did not upload: ` +
          `revert ${foreignAbove.length === 1 ? 'it' : 'them'} yourself, or run sync with --prune`,
      );
    }
  }
  const reverting = above.slice(highestForeign + 1);
  const revertedNow = new Set(reverting.map((p) => p.name));

  const early: SyncStep[] = [];
  const uploads: SyncStep[] = [];
  const unloaded = new Set<string>();
  const refuseForeign = (p: HostPayload, why: string): never => {
    throw new SyncRefusedError(
      'foreign-in-the-way',
      [p.name],
      `${JSON.stringify(p.name)} was not uploaded by xlp and ${why}; sync does not unload payloads it ` +
        `did not upload: unload it yourself, or run sync with --prune`,
    );
  };
  const unloadEarly = (p: HostPayload, reason: SyncStepReason, why: string): void => {
    if (unloaded.has(p.name)) return;
    unloaded.add(p.name);
    early.push({ action: 'UNLOAD', payload: p.name, reason, why });
  };

  for (const d of toApply) {
    // A payload holding this build-id under another name makes the upload fail (EEXIST).
    for (const q of host.loaded) {
      if (q.name === d.name || q.buildId === null || q.buildId !== d.buildId || unloaded.has(q.name)) continue;
      if (!touchable(q))
        refuseForeign(
          q,
          `holds the build-id ${d.buildId} of the installed ${JSON.stringify(d.name)} under another name ` +
            `(Xen refuses a second payload with one build-id)`,
        );
      unloadEarly(
        q,
        'build-id-taken',
        `holds the build-id of the installed ${JSON.stringify(d.name)} under another name; Xen refuses ` +
          `a second payload with one build-id`,
      );
    }
    const cur = byName.get(d.name);
    if (cur === undefined) {
      uploads.push({ action: 'UPLOAD', payload: d.name, reason: 'missing', why: 'installed and not loaded' });
      continue;
    }
    if (!touchable(cur))
      refuseForeign(
        cur,
        `is loaded under the name of the installed patch, which sync must ${cur.state === 'APPLIED' ? 'apply' : 'upload'}`,
      );
    if (!sameUpload(cur, d)) {
      const reason: SyncStepReason = cur.owner === 'foreign' ? 'not-uploaded-by-xlp' : 'other-version';
      const why =
        cur.owner === 'foreign'
          ? 'uploaded by another tool (pruned): xlp applies only the installed bytes it uploads itself'
          : `loaded with ${cur.buildId === d.buildId ? 'other bytes' : `another build-id (${cur.buildId ?? 'unknown'})`} ` +
            'than the installed patch';
      unloadEarly(cur, reason, why);
      uploads.push({ action: 'UPLOAD', payload: d.name, reason: 'missing', why: 'the installed version replaces the one unloaded' });
      continue;
    }
    // xlp's upload of these very bytes: reverted (now or before), Xen applies it again only if safe.
    const reverted = revertedNow.has(cur.name) || cur.reverted !== false;
    if (reverted && !d.safeToReapply) {
      unloadEarly(
        cur,
        'not-safe-to-reapply',
        'reverted, and it has writable data: Xen will not apply it a second time (EINVAL), so it is ' + 'uploaded afresh',
      );
      uploads.push({ action: 'UPLOAD', payload: d.name, reason: 'missing', why: 'uploaded afresh so that Xen applies it' });
    }
  }

  const base = current.slice(0, k).map((p) => p.name);
  const keptForeign = above.slice(0, highestForeign + 1).map((p) => p.name);
  const expectedApplied = [...base, ...keptForeign, ...toApply.map((d) => d.name)];
  const wanted = new Set(expectedApplied);
  const untouched: UntouchedPayload[] = [];
  /** The loaded payloads left CHECKED by the plan and not installed: xlp's are unloaded, others left. */
  const leftovers = (replacing: boolean): SyncStep[] => {
    const out: SyncStep[] = [];
    for (const p of host.loaded) {
      if (wanted.has(p.name) || unloaded.has(p.name)) continue;
      const revertedByPlan = revertedNow.has(p.name) || (replacing && p.state === 'APPLIED');
      if (p.state !== 'CHECKED' && !revertedByPlan) continue;
      if (!touchable(p)) {
        untouched.push({ name: p.name, state: 'CHECKED', why: 'not uploaded by xlp and not installed: left loaded (--prune unloads it)' });
        continue;
      }
      unloaded.add(p.name);
      out.push(
        replacing && p.state === 'APPLIED'
          ? { action: 'UNLOAD', payload: p.name, reason: 'replaced', why: 'reverted by the REPLACE and not installed' }
          : {
              action: 'UNLOAD',
              payload: p.name,
              reason: 'not-installed',
              why: p.owner === 'xlp' ? 'uploaded by xlp and not installed for this build' : 'not installed (pruned)',
            },
      );
    }
    return out;
  };
  for (const name of keptForeign)
    untouched.push({ name, state: 'APPLIED', why: 'not uploaded by xlp and not installed: left applied on top (--prune reverts it)' });

  const replaceable =
    !boot &&
    k === 0 &&
    desired.length === 1 &&
    current.length > 0 &&
    highestForeign < 0 &&
    desired[0]!.vetoingHooks.length === 0 &&
    byName.get(desired[0]!.name)?.state !== 'APPLIED' &&
    // An unload before the REPLACE must find its payload CHECKED (an applied one needs a revert first).
    early.every((s) => byName.get(s.payload)?.state === 'CHECKED') &&
    current.every((p) => p.vetoingHooks !== null && p.vetoingHooks.length === 0);

  let steps: SyncStep[];
  let mode: SyncMode;
  if (replaceable) {
    const d = desired[0]!;
    const replaces = [...current].reverse().map((p) => p.name);
    const replace: SyncStep = {
      action: 'REPLACE',
      payload: d.name,
      reason: 'replace',
      why: `the one installed patch replaces ${quoteNames(replaces)} atomically (no vetoing hooks on any of them)`,
      replaces,
    };
    steps = [...early, ...uploads, replace, ...leftovers(true)];
    mode = 'replace';
  } else {
    const reverts = [...reverting].reverse().map((p): SyncStep => ({
      action: 'REVERT',
      payload: p.name,
      reason: 'above-common-base',
      why: `applied above the common base${base.length ? ` (${quoteNames(base)})` : ''}`,
    }));
    const applies = toApply.map((d, i): SyncStep => ({
      action: 'APPLY',
      payload: d.name,
      reason: 'installed',
      why: `installed: position ${k + i + 1} of ${desired.length} in the stack`,
    }));
    steps = [...reverts, ...early, ...uploads, ...applies, ...leftovers(false)];
    mode = steps.length ? 'sequential' : 'nothing-to-do';
  }
  if (boot) {
    const reverts = steps.filter((s) => s.action === 'REVERT' || s.action === 'REPLACE');
    if (reverts.length) {
      const names = reverting.map((p) => p.name);
      throw new SyncRefusedError(
        'boot-would-revert',
        names,
        `the boot sync only adds to the applied stack, and this host would need ${quoteNames(names)} ` +
          `reverted first (applied above the common base); run \`xlp sync\` to converge`,
      );
    }
  }
  return { mode, steps, changed: steps.length > 0, desired: desired.map((d) => d.name), commonBase: base, expectedApplied, untouched };
}
