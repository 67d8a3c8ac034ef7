/**
 * `xlp sync`: the host converges to its installed patches. The plan is made once the host lock is
 * held, from the stack found then (sync-plan.ts); every installed copy to upload is read back from
 * the store (size and SHA-256 checked) and its signature verified again under the current trust
 * directory before the first hypercall; the steps then run journaled (workflow kind `sync`).
 */
import { readPayload } from '../payload/read-payload.js';
import type { SyncStepResult, SyncUpload, SyncWork } from '../workflow/kinds/sync.js';
import type { Livepatcher } from '../workflow/livepatcher.js';
import type { StackView } from '../workflow/stack.js';
import type { WaitOptions } from '../workflow/types.js';
import type { BuildIdHex } from '../xen/domain.js';
import { hostStateFromStackView } from './host-state.js';
import { LifecycleError } from './errors.js';
import type { InstalledPatch } from './manifest.js';
import { requireAcceptedSignature, signaturePathFor, verifySignature } from './signature.js';
import type { InstalledStore } from './store.js';
import { planSync, type SyncPlan } from './sync-plan.js';
import type { TrustedKeySet } from './trusted-keys.js';

/** Installed and applied stacks compared. */
export interface Drift {
  /** Installed for the running build, not applied. */
  readonly installedNotApplied: readonly string[];
  /** Applied, not installed for the running build. */
  readonly appliedNotInstalled: readonly string[];
  /** Both hold the same payloads in another order. */
  readonly orderDiffers: boolean;
}

export function driftOf(installed: readonly string[], applied: readonly string[]): Drift {
  const inst = new Set(installed);
  const app = new Set(applied);
  const installedNotApplied = installed.filter((n) => !app.has(n));
  const appliedNotInstalled = applied.filter((n) => !inst.has(n));
  const common = applied.filter((n) => inst.has(n));
  const orderDiffers = common.join('\0') !== installed.filter((n) => app.has(n)).join('\0');
  return { installedNotApplied, appliedNotInstalled, orderDiffers };
}

export function hasDrift(d: Drift): boolean {
  return d.installedNotApplied.length > 0 || d.appliedNotInstalled.length > 0 || d.orderDiffers;
}

export interface SyncHostOptions extends WaitOptions {
  readonly prune?: boolean;
  /** The boot sync: only adds to the applied stack (kill switches and the guard are the caller's). */
  readonly boot?: boolean;
  /** Plan only. */
  readonly dryRun?: boolean;
}

/** What a sync did (or, dry run, would do). */
export interface SyncReport {
  readonly xenBuildId: BuildIdHex;
  readonly xenVersion: string;
  readonly dryRun: boolean;
  readonly changed: boolean;
  /** The applied stack before, bottom first. */
  readonly before: readonly string[];
  /** The applied stack after (dry run: as the plan expects it). */
  readonly after: readonly string[];
  readonly plan: SyncPlan;
  readonly steps: readonly SyncStepResult[];
  /** Drift left after the sync (dry run: expected). */
  readonly drift: Drift;
  /** What the stack view is not sure of. */
  readonly warnings: readonly string[];
}

/** An installed copy cannot be read as a payload (the store checked its bytes: they are what was installed). */
export class UnreadableInstalledCopyError extends LifecycleError {
  override readonly name = 'UnreadableInstalledCopyError';
  readonly code = 'EINSTALLED';
  readonly category = 'failed' as const;
}

interface Planned extends SyncWork {
  readonly plan: SyncPlan;
  readonly before: readonly string[];
  readonly warnings: readonly string[];
}

async function verifiedCopy(store: InstalledStore, trust: TrustedKeySet, xen: BuildIdHex, patch: InstalledPatch): Promise<SyncUpload> {
  const stored = await store.read(xen, patch.name);
  const signatureFile = stored.signatureFile ?? signaturePathFor(stored.file);
  requireAcceptedSignature(verifySignature(trust, stored.bytes, stored.signature), {
    file: stored.file,
    signatureFile,
    payload: patch.name,
    trustDir: trust.dir,
  });
  const model = readPayload(stored.bytes).payload;
  if (!model)
    throw new UnreadableInstalledCopyError(
      `the installed copy of ${JSON.stringify(patch.name)} (${stored.file}) is not a payload xlp can read`,
      { payload: patch.name, file: stored.file },
    );
  return { payload: patch.name, bytes: stored.bytes, model, file: stored.file, sha256: stored.patch.sha256 };
}

/** Syncs the host to the installed patches of its running Xen build. */
export async function syncHost(
  lp: Livepatcher,
  store: InstalledStore,
  trust: TrustedKeySet,
  options: SyncHostOptions = {},
): Promise<SyncReport> {
  const version = await lp.backend.xenVersion();
  const xenVersion = `${version.major}.${version.minor}${version.extra}`;
  const xen = version.buildId;
  const desired = xen === null ? [] : ((await store.get(xen))?.patches ?? []);
  const prepare = async (found: {
    view: StackView;
    warnings: string[];
    xlp: Parameters<typeof hostStateFromStackView>[1];
  }): Promise<Planned> => {
    const plan = planSync(desired, hostStateFromStackView(found.view, found.xlp), {
      prune: options.prune === true,
      boot: options.boot === true,
    });
    const uploads = new Map<string, SyncUpload>();
    for (const s of plan.steps) {
      if (s.action !== 'UPLOAD') continue;
      uploads.set(
        s.payload,
        await verifiedCopy(
          store,
          trust,
          xen!,
          desired.find((d) => d.name === s.payload)!,
        ),
      );
    }
    return {
      command: `sync${options.boot ? ' --boot' : ''}${options.prune ? ' --prune' : ''}`,
      xenBuildId: xen!,
      steps: plan.steps.map((s) => ({ action: s.action, payload: s.payload })),
      uploads,
      plan,
      before: found.view.applied.map((e) => e.name),
      warnings: found.warnings,
    };
  };
  const installed = desired.map((d) => d.name);
  if (options.dryRun) {
    const work = await prepare(await lp.syncView());
    return {
      xenBuildId: xen!,
      xenVersion,
      dryRun: true,
      changed: work.plan.changed,
      before: work.before,
      after: work.plan.expectedApplied,
      plan: work.plan,
      steps: [],
      drift: driftOf(installed, work.plan.expectedApplied),
      warnings: work.warnings,
    };
  }
  const { work, steps } = await lp.sync(prepare, options);
  const after = steps.length ? (await lp.stack()).applied.map((e) => e.name) : work.before;
  return {
    xenBuildId: xen!,
    xenVersion,
    dryRun: false,
    changed: steps.length > 0,
    before: work.before,
    after,
    plan: work.plan,
    steps,
    drift: driftOf(installed, after),
    warnings: work.warnings,
  };
}
