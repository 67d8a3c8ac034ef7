/**
 * Installing the boot unit: the unit file in systemd's unit directory, and the symlink in
 * `multi-user.target.wants/` that enabling it means (what `systemctl enable` makes for its
 * WantedBy=). Written by xlp itself so that it works (and is tested) without a running systemd;
 * where systemd runs and the directory is its own, `systemctl daemon-reload` makes it see the change.
 */
import { lstat, mkdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { BOOT_UNIT_NAME, type BootUnitOptions, bootUnitText, DEFAULT_SYSTEMD_DIR } from './boot-unit.js';

const WANTS = 'multi-user.target.wants';

/** The unit's state in a unit directory. */
export interface BootUnitState {
  /** The unit file exists. */
  readonly installed: boolean;
  /** It is enabled (the wants symlink points at it). */
  readonly enabled: boolean;
  readonly path: string;
  /** The command the unit runs, as written (null when not installed). */
  readonly execStart: string | null;
  /** The unit differs from what `xlp boot enable` would write now (another xlp or node path). */
  readonly stale: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function reloadSystemd(dir: string): Promise<string | null> {
  if (dir !== DEFAULT_SYSTEMD_DIR || !(await exists('/run/systemd/system'))) return null;
  try {
    // Imported here, not at the top: every `xlp` that reports an error loads this module (through
    // the lifecycle entry), and child_process is a cost at start-up (`npm run bench:cli`).
    const { execFile } = await import('node:child_process');
    await promisify(execFile)('systemctl', ['daemon-reload'], { timeout: 30_000 });
    return null;
  } catch (error) {
    return `systemctl daemon-reload failed (${error instanceof Error ? error.message : String(error)}); run it yourself`;
  }
}

export async function bootUnitState(dir: string, options: BootUnitOptions): Promise<BootUnitState> {
  const path = join(dir, BOOT_UNIT_NAME);
  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let enabled = false;
  try {
    const target = await readlink(join(dir, WANTS, BOOT_UNIT_NAME));
    enabled = text !== null && (target === path || target === `../${BOOT_UNIT_NAME}`);
  } catch {
    enabled = false;
  }
  const execStart = text ? (/^ExecStart=(.*)$/m.exec(text)?.[1] ?? null) : null;
  return { installed: text !== null, enabled, path, execStart, stale: text !== null && text !== bootUnitText(options) };
}

/** Writes the unit and enables it; returns its state and a warning when systemd could not be told. */
export async function enableBootUnit(
  dir: string,
  options: BootUnitOptions,
): Promise<{ state: BootUnitState; changed: boolean; warning: string | null }> {
  const before = await bootUnitState(dir, options);
  const path = join(dir, BOOT_UNIT_NAME);
  const text = bootUnitText(options);
  if (before.enabled && !before.stale) return { state: before, changed: false, warning: null };
  await mkdir(join(dir, WANTS), { recursive: true });
  await writeFileAtomic(path, text, { mode: 0o644 });
  const link = join(dir, WANTS, BOOT_UNIT_NAME);
  await rm(link, { force: true });
  await symlink(path, link);
  const warning = await reloadSystemd(dir);
  return { state: await bootUnitState(dir, options), changed: true, warning };
}

/** Disables the unit and removes it (the patches applied now stay applied). */
export async function disableBootUnit(
  dir: string,
  options: BootUnitOptions,
): Promise<{ state: BootUnitState; changed: boolean; warning: string | null }> {
  const before = await bootUnitState(dir, options);
  const link = join(dir, WANTS, BOOT_UNIT_NAME);
  const had = before.installed || (await exists(link));
  await rm(link, { force: true });
  await rm(join(dir, BOOT_UNIT_NAME), { force: true });
  const warning = had ? await reloadSystemd(dir) : null;
  return { state: await bootUnitState(dir, options), changed: had, warning };
}
