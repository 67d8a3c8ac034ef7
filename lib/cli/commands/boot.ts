import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type BootUnitOptions,
  bootUnitState,
  clearBootGuard,
  disableBootUnit,
  enableBootUnit,
  readBootGuard,
} from '../../lifecycle/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { killSwitchPaths, systemdDirOf } from '../lifecycle-options.js';
import type { Output } from '../output.js';
import { PACKAGE_ROOT_URL } from '../package-root.js';
import { type BackendOptions, openReader } from '../session.js';

export interface BootCommandOptions extends BackendOptions {
  readonly systemdDir?: string;
}

/** This node and this xlp, as absolute real paths: what the unit runs at boot. */
export function unitOptions(): BootUnitOptions {
  const xlp = realpathSync(fileURLToPath(new URL('bin/xlp.js', PACKAGE_ROOT_URL)));
  return { node: realpathSync(process.execPath), xlp, disableFile: killSwitchPaths().disableFile };
}

function unitJson(s: Awaited<ReturnType<typeof bootUnitState>>): Record<string, unknown> {
  return { enabled: s.enabled, installed: s.installed, path: s.path, execStart: s.execStart, stale: s.stale };
}

export async function enable(_args: [], options: BootCommandOptions, out: Output): Promise<ExitCode> {
  const r = await enableBootUnit(systemdDirOf(options), unitOptions());
  if (r.warning) out.warn(r.warning);
  out.result({ bootUnit: unitJson(r.state), changed: r.changed }, () =>
    r.changed
      ? `enabled ${r.state.path}: at boot it runs ${r.state.execStart}`
      : `${r.state.path} is already enabled and up to date: nothing to do`,
  );
  return EXIT.OK;
}

export async function disable(_args: [], options: BootCommandOptions, out: Output): Promise<ExitCode> {
  const r = await disableBootUnit(systemdDirOf(options), unitOptions());
  if (r.warning) out.warn(r.warning);
  out.result({ bootUnit: unitJson(r.state), changed: r.changed }, () =>
    r.changed
      ? `disabled and removed ${r.state.path}; the patches applied now stay applied`
      : 'the boot unit is not installed: nothing to do',
  );
  return EXIT.OK;
}

export async function status(_args: [], options: BootCommandOptions, out: Output): Promise<ExitCode> {
  const { opened, done } = await openReader(options, out);
  try {
    const s = await bootUnitState(systemdDirOf(options), unitOptions());
    const guard = await readBootGuard(opened.stateDir);
    out.result({ bootUnit: unitJson(s), bootGuard: guard ? { tripped: true, since: guard.startedAt } : { tripped: false } }, () =>
      [
        `boot unit: ${s.enabled ? 'enabled' : s.installed ? 'installed, not enabled' : 'not installed'} (${s.path})` +
          (s.stale ? ' (written by another xlp or node: `xlp boot enable` rewrites it)' : ''),
        ...(s.execStart ? [`runs:      ${s.execStart}`] : []),
        `guard:     ${guard ? `TRIPPED: the boot sync started at ${guard.startedAt} never finished; ${CLEAR_GUARD}` : 'clear'}`,
      ].join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}

export async function clearGuard(_args: [], options: BootCommandOptions, out: Output): Promise<ExitCode> {
  const { opened, done } = await openReader(options, out);
  try {
    const had = await clearBootGuard(opened.stateDir);
    out.result({ changed: had }, () =>
      had ? 'cleared the boot sync guard: the next boot sync runs again' : 'the boot sync guard is not set: nothing to do',
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}

const CLEAR_GUARD = '`xlp boot clear-guard` once understood';
