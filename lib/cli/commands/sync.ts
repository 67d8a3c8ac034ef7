import { join } from 'node:path';
import {
  BOOT_GUARD_FILE,
  BootGuardTrippedError,
  clearBootGuard,
  InstalledStore,
  readBootGuard,
  readKillSwitch,
  setBootGuard,
  syncHost,
  type SyncReport,
  writeLastSync,
} from '../../lifecycle/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { killSwitchPaths, type TrustOptions, trustedKeys } from '../lifecycle-options.js';
import type { Output } from '../output.js';
import { actionJson } from '../render.js';
import { type BackendOptions, openLivepatcher } from '../session.js';
import { UsageError } from '../usage-error.js';
import { quiesceNs } from '../command-options.js';

export interface SyncCommandOptions extends BackendOptions, TrustOptions {
  readonly dryRun?: boolean;
  readonly prune?: boolean;
  readonly boot?: boolean;
  readonly quiesceTimeout?: string;
}

function planJson(r: SyncReport): Record<string, unknown> {
  return {
    mode: r.plan.mode,
    commonBase: r.plan.commonBase,
    steps: r.plan.steps.map((s) => ({
      action: s.action,
      name: s.payload,
      reason: s.reason,
      why: s.why,
      ...(s.replaces ? { replaces: s.replaces } : {}),
    })),
    untouched: r.plan.untouched,
    warnings: r.warnings,
  };
}

function reportJson(r: SyncReport): Record<string, unknown> {
  return {
    xenBuildId: r.xenBuildId,
    xenVersion: r.xenVersion,
    changed: r.changed,
    ...(r.dryRun ? { dryRun: true } : {}),
    before: r.before,
    after: r.after,
    plan: planJson(r),
    ...(r.dryRun
      ? {}
      : {
          steps: r.steps.map((s) =>
            s.action === 'UPLOAD' ? { name: s.payload, action: 'UPLOAD', outcome: s.outcome, bytes: s.bytes } : actionJson(s),
          ),
        }),
    drift: r.drift,
  };
}

function reportText(r: SyncReport): string {
  const stack = (names: readonly string[]) => (names.length ? names.join(', ') : 'empty');
  const out: string[] = [];
  if (r.dryRun) {
    out.push(`plan for sync (Xen ${r.xenVersion}, build ${r.xenBuildId}):`);
    r.plan.steps.forEach((s, i) => out.push(`  ${i + 1}. ${s.action} ${s.payload}  (${s.why})`));
    if (!r.plan.steps.length) out.push('  nothing to do');
    out.push(`  applied stack after: ${stack(r.after)}`);
  } else if (!r.changed) {
    out.push(`nothing changed: the applied stack (${stack(r.after)}) already is the installed set of Xen build ${r.xenBuildId}`);
  } else {
    out.push(`synced: the applied stack is ${stack(r.after)} (was ${stack(r.before)})`);
  }
  for (const u of r.plan.untouched) out.push(`  drift: ${u.name} (${u.state}) ${u.why}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  return out.join('\n');
}

export async function sync(_args: [], options: SyncCommandOptions, out: Output): Promise<ExitCode> {
  if (options.boot && options.prune)
    throw new UsageError('--boot and --prune do not go together: the boot sync only restores the installed patches');
  const { lp, opened, done, signal } = await openLivepatcher(options, out, { streamSteps: !options.dryRun });
  const stateDir = opened.stateDir;
  const at = () => new Date().toISOString();
  try {
    const boot = options.boot === true && !options.dryRun;
    if (boot) {
      const ks = await readKillSwitch(killSwitchPaths());
      if (ks.engaged) {
        await writeLastSync(stateDir, { at: at(), result: 'skipped', changed: false, boot: true, reason: ks.reason, xenBuildId: null });
        out.result(
          { changed: false, skipped: { by: ks.by, reason: ks.reason } },
          () => `boot sync skipped: ${ks.reason} (kill switch); nothing was changed`,
        );
        return EXIT.OK;
      }
      const guard = await readBootGuard(stateDir);
      if (guard) {
        const error = new BootGuardTrippedError(join(stateDir, BOOT_GUARD_FILE), guard.startedAt);
        await writeLastSync(stateDir, { at: at(), result: 'skipped', changed: false, boot: true, reason: error.message, xenBuildId: null });
        throw error;
      }
      await setBootGuard(stateDir);
    }
    let report: SyncReport;
    try {
      const trust = await trustedKeys(options);
      report = await syncHost(lp, new InstalledStore(stateDir), trust, {
        prune: options.prune === true,
        boot: options.boot === true,
        dryRun: options.dryRun === true,
        signal,
        ...quiesceNs(options),
      });
    } catch (error) {
      if (!options.dryRun)
        await writeLastSync(stateDir, {
          at: at(),
          result: 'failed',
          changed: false,
          boot,
          reason: error instanceof Error ? error.message : String(error),
          xenBuildId: null,
        }).catch(() => undefined);
      // A clean failure ends the boot sync: only a host that died during it leaves the guard set.
      if (boot) await clearBootGuard(stateDir);
      throw error;
    }
    if (!options.dryRun)
      await writeLastSync(stateDir, { at: at(), result: 'ok', changed: report.changed, boot, xenBuildId: report.xenBuildId });
    if (boot) await clearBootGuard(stateDir);
    out.result(reportJson(report), () => reportText(report));
    return EXIT.OK;
  } finally {
    await done();
  }
}
