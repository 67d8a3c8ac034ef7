import { bootUnitState, driftOf, hasDrift, hostMetrics, InstalledStore, readBootGuard, readLastSync } from '../../lifecycle/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { systemdDirOf } from '../lifecycle-options.js';
import type { Output } from '../output.js';
import { type BackendOptions, openLivepatcher } from '../session.js';
import { UsageError } from '../usage-error.js';
import { unitOptions } from './boot.js';

export interface HostStatusOptions extends BackendOptions {
  readonly format?: string;
  readonly systemdDir?: string;
}

/** `xlp status` without a name: the host's lifecycle state, for people, automation and monitoring. */
export async function hostStatus(options: HostStatusOptions, out: Output): Promise<ExitCode> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'prometheus')
    throw new UsageError(`--format: expected text or prometheus, not ${JSON.stringify(format)}`);
  if (format === 'prometheus' && out.json) throw new UsageError('--format prometheus and --json do not go together');
  // A reading command: it creates no state directory where there is none.
  const { lp, opened, done } = await openLivepatcher(options, out, { readOnly: true });
  try {
    const v = await lp.backend.xenVersion();
    const version = `${v.major}.${v.minor}${v.extra}`;
    const view = await lp.stack();
    const applied = view.applied.map((e) => e.name);
    const installed = v.buildId ? ((await new InstalledStore(opened.stateDir).get(v.buildId))?.patches ?? []) : [];
    const drift = driftOf(
      installed.map((p) => p.name),
      applied,
    );
    const lastSync = await readLastSync(opened.stateDir);
    const guard = await readBootGuard(opened.stateDir);
    const unit = await bootUnitState(systemdDirOf(options), unitOptions());
    const journal = await lp.interruptedJournal();
    if (format === 'prometheus') {
      out.stdout.write(
        hostMetrics({
          xenVersion: version,
          xenBuildId: v.buildId,
          applied,
          installed: installed.map((p) => p.name),
          drift: hasDrift(drift),
          lastSync,
          bootGuardTripped: guard !== null,
          bootUnitEnabled: unit.enabled,
        }),
      );
      return EXIT.OK;
    }
    const data = {
      xen: { version, buildId: v.buildId },
      stack: { applied, certainty: view.certainty.order },
      installed: installed.map((p) => ({
        name: p.name,
        buildId: p.buildId,
        sha256: p.sha256,
        installedAt: p.installedAt,
        signature: p.signature?.keyId ? { keyId: p.signature.keyId, algorithm: p.signature.algorithm } : null,
      })),
      drift,
      lastSync,
      bootGuard: guard ? { tripped: true, since: guard.startedAt } : { tripped: false },
      bootUnit: { enabled: unit.enabled, path: unit.path },
      journal: journal ? { workflow: journal.workflow, command: journal.command } : null,
    };
    out.result(data, () =>
      [
        `xen:        ${version} (build-id ${v.buildId ?? 'none'})`,
        `applied:    ${list(applied)}${view.certainty.order === 'certain' ? '' : ` (order ${view.certainty.order})`}`,
        `installed:  ${list(installed.map((p) => p.name))}`,
        `drift:      ${driftText(drift)}`,
        `last sync:  ${lastSyncText(lastSync)}`,
        `boot guard: ${guard ? `TRIPPED since ${guard.startedAt}: ${GUARD_ADVICE}` : 'clear'}`,
        `boot unit:  ${unit.enabled ? 'enabled' : 'not enabled'} (${unit.path})`,
        ...(journal ? [`journal:    an unfinished \`${journal.command}\`: run \`xlp recover\``] : []),
      ].join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}

const GUARD_ADVICE = 'the boot sync never finished; `xlp boot clear-guard` once understood';

const list = (names: readonly string[]) => (names.length ? names.join(', ') : 'none');

function driftText(drift: ReturnType<typeof driftOf>): string {
  if (!hasDrift(drift)) return 'none';
  return [
    drift.installedNotApplied.length ? `installed, not applied: ${list(drift.installedNotApplied)}` : '',
    drift.appliedNotInstalled.length ? `applied, not installed: ${list(drift.appliedNotInstalled)}` : '',
    drift.orderDiffers ? 'the order differs' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

function lastSyncText(s: Awaited<ReturnType<typeof readLastSync>>): string {
  if (!s) return 'never';
  return `${s.at} ${s.boot ? '(boot) ' : ''}${s.result}${s.changed ? ', changed the stack' : ''}${s.reason ? `: ${s.reason}` : ''}`;
}
