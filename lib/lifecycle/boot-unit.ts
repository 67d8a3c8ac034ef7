/**
 * The systemd unit that re-applies the installed patches at boot: a oneshot `xlp sync --boot`
 * that stays "active" once done and does nothing at shutdown (patches stay applied until the
 * hypervisor goes down with the machine). It runs before the network is configured (as
 * kpatch.service does), so a host comes back patched before it serves anything.
 *
 * Two kill switches skip it: the word `xen-livepatch.enable=0` on the dom0 kernel command line
 * (for a host that crashes when the patches go in: edit the boot entry once) and the file
 * `/etc/xen-livepatch/disable`. `xlp sync --boot` checks both again itself (kill-switch.ts).
 *
 * The hypervisor is reached through the privcmd driver. Upstream Xen's own systemd units mount
 * xenfs in `proc-xen.mount`, which loads it; Debian 12 and 13 ship no such unit: their `xen.service`
 * (the `/etc/init.d/xen` script) loads the drivers and mounts xenfs, but it runs after
 * `remote-fs.target`, too late for a unit ordered before `network-pre.target` (ordering after it
 * could even make a cycle on hosts with network file systems). So the unit orders itself after
 * `proc-xen.mount` where that exists and loads `xen-privcmd` itself (`modprobe`, failure ignored:
 * the driver may be built in or already loaded).
 */
import { LifecycleError } from './errors.js';

/** The unit's file name. */
export const BOOT_UNIT_NAME = 'xen-livepatch-sync.service';
/** Where `xlp boot enable` writes it by default (the administrator's unit directory). */
export const DEFAULT_SYSTEMD_DIR = '/etc/systemd/system';
/** The kill-switch file: while it exists, the boot sync does nothing. */
export const DEFAULT_DISABLE_FILE = '/etc/xen-livepatch/disable';
/** The kill-switch word on the dom0 kernel command line. */
export const KERNEL_DISABLE_WORD = 'xen-livepatch.enable=0';
/** The `modprobe` the unit runs to load the privcmd driver. */
export const DEFAULT_MODPROBE = '/sbin/modprobe';
/** How long the boot sync may run before systemd stops it (a oneshot has no limit otherwise, and the network waits for it). */
export const DEFAULT_BOOT_TIMEOUT_SEC = 600;

/** A unit cannot be written with these paths. */
export class BootUnitError extends LifecycleError {
  override readonly name = 'BootUnitError';
  readonly code = 'EBOOTUNIT';
  readonly category = 'usage' as const;
}

/** What goes into the unit. */
export interface BootUnitOptions {
  /** Absolute path of the node binary that runs xlp. */
  readonly node: string;
  /** Absolute path of xlp's entry script (`bin/xlp.js`). */
  readonly xlp: string;
  /** xlp's arguments (default `sync --boot`). */
  readonly args?: readonly string[];
  /** The kill-switch file (default `/etc/xen-livepatch/disable`). */
  readonly disableFile?: string;
  /** `modprobe`'s path; null leaves the driver loading out (default `/sbin/modprobe`). */
  readonly modprobe?: string | null;
  /** TimeoutStartSec in seconds (default 600). */
  readonly timeoutSec?: number;
}

// systemd refuses an executable path holding quotes or backslashes, and a newline ends a setting.
// eslint-disable-next-line no-control-regex
const UNSAFE_PATH = /[\x00-\x1f\x7f"'\\]/;

function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new BootUnitError(`${what} must be an absolute path, not ${JSON.stringify(path)}`);
  if (UNSAFE_PATH.test(path))
    throw new BootUnitError(
      `${what} ${JSON.stringify(path)} holds a quote, a backslash or a control ` +
        `character, which a systemd unit cannot carry; install xlp under a plainer path`,
    );
}

/** One word of an Exec line: `%` doubled (specifiers), `$` doubled except in the executable (variables), quoted when it has blanks. */
function execWord(word: string, executable: boolean): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(word)) throw new BootUnitError(`the command line word ${JSON.stringify(word)} holds a control character`);
  let w = word.replace(/%/g, '%%');
  if (!executable) w = w.replace(/\$/g, '$$$$').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return /[\s;"'\\]/.test(w) || w === '' ? `"${w}"` : w;
}

/** The unit's text. */
export function bootUnitText(options: BootUnitOptions): string {
  checkPath(options.node, 'the node binary');
  checkPath(options.xlp, "xlp's entry script");
  const disableFile = options.disableFile ?? DEFAULT_DISABLE_FILE;
  checkPath(disableFile, 'the kill-switch file');
  const modprobe = options.modprobe === undefined ? DEFAULT_MODPROBE : options.modprobe;
  if (modprobe !== null) checkPath(modprobe, 'modprobe');
  const timeout = options.timeoutSec ?? DEFAULT_BOOT_TIMEOUT_SEC;
  if (!Number.isSafeInteger(timeout) || timeout < 1)
    throw new BootUnitError(`the boot sync's timeout must be a whole number of seconds, not ${timeout}`);
  const args = options.args ?? ['sync', '--boot'];
  const exec = [execWord(options.node, true), execWord(options.xlp, false), ...args.map((a) => execWord(a, false))].join(' ');
  return [
    `# Written by \`xlp boot enable\` (xen-livepatch): re-applies the installed live patches of the`,
    `# running Xen build at boot. Skipped when the dom0 kernel command line holds`,
    `# ${KERNEL_DISABLE_WORD} or while ${disableFile} exists. \`xlp boot disable\` removes it.`,
    '[Unit]',
    'Description=Re-apply the installed Xen live patches (xlp sync --boot)',
    '# Upstream Xen units mount xenfs there; Debian loads the driver only in its late xen.service,',
    '# so the service loads xen-privcmd itself (ExecStartPre) rather than waiting for that.',
    'After=proc-xen.mount',
    '# Patched before any network is configured; network-pre.target is passive, so pull it in.',
    'Wants=network-pre.target',
    'Before=network-pre.target',
    `ConditionKernelCommandLine=!${KERNEL_DISABLE_WORD}`,
    `ConditionPathExists=!${disableFile.replace(/%/g, '%%')}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...(modprobe === null ? [] : [`ExecStartPre=-${execWord(modprobe, true)} -q xen-privcmd`]),
    `ExecStart=${exec}`,
    '# A oneshot has no start timeout by default, and the network waits for this one.',
    `TimeoutStartSec=${timeout}`,
    '# No ExecStop: the patches stay applied until the hypervisor itself goes down.',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
