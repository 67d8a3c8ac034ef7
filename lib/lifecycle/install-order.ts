/**
 * The order of one Xen build's installed patches: the stack their `.livepatch.depends` notes
 * describe. Xen applies a payload (without NODEPS) only when its depends note names the build-id of
 * the top of the applied stack, or the hypervisor's own build-id when the stack is empty, so the
 * notes fix the order: the patch that depends on the hypervisor first, then the one that depends
 * on it, and so on.
 *
 * The notes decide the place of every patch that has a readable depends note. A patch without one
 * (the payload model's `depends` is null: the note is missing or unreadable) has no place from the
 * notes; such patches go above the chain, in install order (`installSeq`), then by name. Xen refuses
 * to upload a payload without that note, so `xlp install`'s preflight never stores one; the rule
 * makes the order total for any store's content.
 *
 * A set that cannot form one stack is refused, naming the payloads: two patches with one name or
 * one build-id, two patches claiming the same base, a base that is neither the hypervisor nor one
 * of the patches, or patches that depend on each other in a cycle.
 */
import type { BuildIdHex } from '../xen/domain.js';
import { LifecycleError, quoteNames } from './errors.js';

/** What ordering needs of a patch. */
export interface OrderablePatch {
  readonly name: string;
  /** Its own build-id (`.note.gnu.build-id`), null when unreadable. */
  readonly buildId: BuildIdHex | null;
  /** The build-id it must be applied on (`.livepatch.depends`), null when the note is missing or unreadable. */
  readonly depends: BuildIdHex | null;
  /** Increases with each install into this build: the order where the notes do not decide. */
  readonly installSeq: number;
}

/** How a patch's place was decided. */
export type OrderBasis =
  /** By the depends chain from the hypervisor's build-id. */
  | 'chain'
  /** By install order: the patch has no readable depends note. */
  | 'install-order';

/** A patch with its place in the stack. */
export interface PlacedPatch<T extends OrderablePatch> {
  readonly patch: T;
  /** 1 is the bottom of the stack. */
  readonly position: number;
  readonly basis: OrderBasis;
}

/** Why a set of patches cannot form one stack. */
export type InstallOrderProblem =
  | 'duplicate-name'
  /** Two patches with one build-id (Xen refuses the second upload with EEXIST), or a patch with the hypervisor's own. */
  | 'duplicate-build-id'
  /** Two patches depend on the same build-id: only one of them can sit on it. */
  | 'same-base'
  /** A patch depends on a build-id that is neither the hypervisor's nor any patch's. */
  | 'missing-base'
  /** Patches whose depends notes lead back to each other, never to the hypervisor. */
  | 'cycle';

/** A set of patches cannot form one stack. */
export class InstallOrderError extends LifecycleError {
  override readonly name = 'InstallOrderError';
  readonly code = 'EORDER';
  readonly category = 'failed' as const;

  constructor(
    readonly problem: InstallOrderProblem,
    /** The payloads concerned. */
    readonly payloads: readonly string[],
    message: string,
  ) {
    super(message, payloads.length === 1 ? { payload: payloads[0]! } : {});
  }

  protected override extra(): Record<string, unknown> {
    return { problem: this.problem, payloads: this.payloads };
  }
}

function baseName(xen: BuildIdHex, depends: BuildIdHex, byBuildId: ReadonlyMap<BuildIdHex, OrderablePatch>): string {
  if (depends === xen) return `the hypervisor's build-id ${xen}`;
  const p = byBuildId.get(depends);
  return p ? `${JSON.stringify(p.name)} (build-id ${depends})` : `build-id ${depends}`;
}

/**
 * The patches of one Xen build in stack order, bottom first, each with how its place was decided.
 * Throws `InstallOrderError` when they cannot form one stack.
 */
export function orderPatches<T extends OrderablePatch>(xenBuildId: BuildIdHex, patches: readonly T[]): PlacedPatch<T>[] {
  const byName = new Map<string, T>();
  for (const p of patches) {
    if (byName.has(p.name))
      throw new InstallOrderError(
        'duplicate-name',
        [p.name],
        `two patches are named ${JSON.stringify(p.name)}; names are unique in a build's stack (as in Xen)`,
      );
    byName.set(p.name, p);
  }
  const byBuildId = new Map<BuildIdHex, T>();
  for (const p of patches) {
    if (p.buildId === null) continue;
    if (p.buildId === xenBuildId) {
      throw new InstallOrderError(
        'duplicate-build-id',
        [p.name],
        `${JSON.stringify(p.name)} has the hypervisor's own build-id ${xenBuildId} ` +
          `as its build-id; it cannot be a patch of that build`,
      );
    }
    const other = byBuildId.get(p.buildId);
    if (other) {
      throw new InstallOrderError(
        'duplicate-build-id',
        [other.name, p.name],
        `${quoteNames([other.name, p.name])} have the same build-id ${p.buildId}: they ` +
          `are one payload under two names, and Xen refuses to load the second (EEXIST)`,
      );
    }
    byBuildId.set(p.buildId, p);
  }
  const byDepends = new Map<BuildIdHex, T[]>();
  for (const p of patches) {
    if (p.depends === null) continue;
    const list = byDepends.get(p.depends);
    if (list) list.push(p);
    else byDepends.set(p.depends, [p]);
  }
  for (const [base, claimants] of byDepends) {
    if (claimants.length > 1) {
      const names = claimants.map((p) => p.name);
      throw new InstallOrderError(
        'same-base',
        names,
        `${quoteNames(names)} all depend on ${baseName(xenBuildId, base, byBuildId)}; only one ` +
          `patch can sit on it (a cumulative patch replaces the other: uninstall the one it supersedes)`,
      );
    }
  }
  for (const p of patches) {
    if (p.depends !== null && p.depends !== xenBuildId && !byBuildId.has(p.depends)) {
      throw new InstallOrderError(
        'missing-base',
        [p.name],
        `${JSON.stringify(p.name)} depends on build-id ${p.depends}, which is ` +
          `neither the hypervisor's (${xenBuildId}) nor that of a patch of this ` +
          `build; install the patch it was built on first, or together with it`,
      );
    }
  }

  const placed: PlacedPatch<T>[] = [];
  let below: BuildIdHex | null = xenBuildId;
  while (below !== null) {
    const next: T | undefined = byDepends.get(below)?.[0];
    if (!next) break;
    placed.push({ patch: next, position: placed.length + 1, basis: 'chain' });
    below = next.buildId;
  }
  const inChain = new Set(placed.map((p) => p.patch));
  const stranded = patches.filter((p) => p.depends !== null && !inChain.has(p));
  if (stranded.length) {
    const names = stranded.map((p) => p.name);
    throw new InstallOrderError(
      'cycle',
      names,
      `${quoteNames(names)} depend on each other in a cycle, never on ` +
        `the hypervisor's build-id ${xenBuildId}; no order can apply them`,
    );
  }
  const floating = patches
    .filter((p) => p.depends === null)
    .sort((a, b) => a.installSeq - b.installSeq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of floating) placed.push({ patch: p, position: placed.length + 1, basis: 'install-order' });
  return placed;
}

/** The patches in stack order, bottom first (`orderPatches` without the placement details). */
export function stackOrder<T extends OrderablePatch>(xenBuildId: BuildIdHex, patches: readonly T[]): T[] {
  return orderPatches(xenBuildId, patches).map((p) => p.patch);
}

/**
 * The patches that depend on `name`, directly or through others (those above it in the chain),
 * bottom first. Empty when nothing depends on it or it is not among the patches.
 */
export function dependantsOf<T extends OrderablePatch>(xenBuildId: BuildIdHex, patches: readonly T[], name: string): T[] {
  const placed = orderPatches(xenBuildId, patches);
  const at = placed.findIndex((p) => p.patch.name === name);
  if (at < 0 || placed[at]!.basis !== 'chain') return [];
  return placed
    .slice(at + 1)
    .filter((p) => p.basis === 'chain')
    .map((p) => p.patch);
}
