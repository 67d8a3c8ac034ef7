/**
 * The boot sync's kill switches, checked by `xlp sync --boot` itself (the unit's conditions check
 * them too, but the command may be run by other means): the file `/etc/xen-livepatch/disable`
 * and the word `xen-livepatch.enable=0` on the dom0 kernel command line. When in doubt (the file's
 * presence cannot be checked, the command line cannot be read) the switch counts as engaged: not
 * patching at boot is the safe side, and the reason says why.
 */
import { readFile, stat } from 'node:fs/promises';
import { DEFAULT_DISABLE_FILE, KERNEL_DISABLE_WORD } from './boot-unit.js';

/** Where the kernel command line is read from. */
export const DEFAULT_CMDLINE_FILE = '/proc/cmdline';

/** Which switch stopped the boot sync. */
export type KillSwitchSource = 'file' | 'cmdline';

/** Whether the boot sync may run. */
export type KillSwitchState =
  | { readonly engaged: false }
  | {
      readonly engaged: true;
      readonly by: KillSwitchSource;
      /** Why, as a sentence: "/etc/xen-livepatch/disable exists". */
      readonly reason: string;
    };

/** Paths of the switches (tests put them elsewhere). */
export interface KillSwitchPaths {
  readonly disableFile?: string;
  readonly cmdlineFile?: string;
}

/**
 * The words of a kernel command line as the kernel splits it: on blanks, with double quotes
 * grouping (`a="b c"` is one word, `a=b c` with the quotes removed).
 */
export function kernelCommandLineWords(cmdline: string): string[] {
  const words: string[] = [];
  let word = '';
  let inQuotes = false;
  let started = false;
  for (const c of cmdline) {
    if (c === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if (!inQuotes && /\s/.test(c)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
}

/** Reads both switches. */
export async function readKillSwitch(paths: KillSwitchPaths = {}): Promise<KillSwitchState> {
  const file = paths.disableFile ?? DEFAULT_DISABLE_FILE;
  try {
    // Any kind of entry counts, as for systemd's ConditionPathExists (which follows symlinks).
    await stat(file);
    return { engaged: true, by: 'file', reason: `${file} exists` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      return {
        engaged: true,
        by: 'file',
        reason: `whether ${file} exists cannot be checked (${code ?? String(error)}); not patching at boot`,
      };
  }
  const cmdlineFile = paths.cmdlineFile ?? DEFAULT_CMDLINE_FILE;
  let cmdline: string;
  try {
    cmdline = await readFile(cmdlineFile, 'utf8');
  } catch (error) {
    return {
      engaged: true,
      by: 'cmdline',
      reason:
        `the kernel command line (${cmdlineFile}) cannot be read ` +
        `(${(error as NodeJS.ErrnoException).code ?? String(error)}); not patching at boot`,
    };
  }
  if (kernelCommandLineWords(cmdline).includes(KERNEL_DISABLE_WORD))
    return { engaged: true, by: 'cmdline', reason: `the kernel command line holds ${KERNEL_DISABLE_WORD}` };
  return { engaged: false };
}
