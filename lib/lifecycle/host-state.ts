/**
 * What the sync planner needs to know of the host: every loaded payload with its state, its
 * build-id where known, and whether xlp uploaded it (then xlp also knows its hooks, whether it may
 * be applied again, and whether it was reverted); and the applied stack in order, with how sure
 * that order is. `hostStateFromStackView` builds it from the stack view the workflows read (LIST,
 * xlp's registry, the `x` dump when needed).
 */
import type { XlpPayloadFacts } from '../workflow/kinds/sync.js';
import type { OrderCertainty, StackView } from '../workflow/stack.js';
import type { BuildIdHex, HookKind, PayloadState } from '../xen/domain.js';

/** Who uploaded a loaded payload. */
export type PayloadOwner =
  /** xlp, and its record of that upload is trusted (it matches what LIST shows). */
  | 'xlp'
  /** Another tool (or xlp without a trusted record): xlp knows only what LIST and the `x` dump show. */
  | 'foreign';

/** A loaded payload as the planner sees it. */
export interface HostPayload {
  readonly name: string;
  readonly state: PayloadState;
  /** Its build-id: from xlp's record, or the `x` dump; null when neither is known. */
  readonly buildId: BuildIdHex | null;
  /** SHA-256 of the bytes xlp uploaded; null when not uploaded by xlp. */
  readonly sha256: string | null;
  readonly owner: PayloadOwner;
  /**
   * CHECKED only: applied and reverted since its upload (Xen then applies it again only if it is
   * safe to re-apply). False for an applied payload; null when not known.
   */
  readonly reverted: boolean | null;
  /** null when not known (not uploaded by xlp). */
  readonly safeToReapply: boolean | null;
  /** The pre/post hooks Xen would run; null when not known. */
  readonly vetoingHooks: readonly HookKind[] | null;
}

/** The host as the planner sees it. */
export interface HostState {
  readonly xenBuildId: BuildIdHex | null;
  /** Every loaded payload, in upload order. */
  readonly loaded: readonly HostPayload[];
  /** The applied payloads' names, bottom first. */
  readonly applied: readonly string[];
  /** How sure the applied order is (the stack view's certainty). */
  readonly order: OrderCertainty;
  /** What is not known about the order and why (the stack view's notes). */
  readonly orderNotes: readonly string[];
}

/**
 * The host state of a stack view. `xlp(name)` gives xlp's facts about a payload whose record the
 * view trusted (its evidence is `registry`), null for any other payload.
 */
export function hostStateFromStackView(view: StackView, xlp: (name: string) => XlpPayloadFacts | null): HostState {
  const loaded = view.loaded.map((p): HostPayload => {
    const facts = p.evidence === 'registry' ? xlp(p.name) : null;
    return {
      name: p.name,
      state: p.state,
      buildId: p.buildId,
      sha256: facts?.sha256 ?? null,
      owner: facts ? 'xlp' : 'foreign',
      reverted: p.state === 'APPLIED' ? false : facts ? facts.appliedSinceUpload : null,
      safeToReapply: facts?.safeToReapply ?? null,
      vetoingHooks: facts?.vetoingHooks ?? null,
    };
  });
  return {
    xenBuildId: view.xenBuildId,
    loaded,
    applied: view.applied.map((e) => e.name),
    order: view.certainty.order,
    orderNotes: view.certainty.notes,
  };
}
