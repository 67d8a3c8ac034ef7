/**
 * The command line as bytes. Node decodes argv as UTF-8 and puts U+FFFD in place of bytes that are
 * not, silently: a payload name or a path would then not be what was typed. Linux keeps the bytes
 * in /proc/self/cmdline, so the CLI can tell and refuse such an argument instead.
 */
import { readFileSync } from 'node:fs';

/** The last `count` arguments of this process as bytes, or undefined where /proc is not there. */
export function rawArguments(count: number): Uint8Array[] | undefined {
  let cmdline: Buffer;
  try {
    cmdline = readFileSync('/proc/self/cmdline');
  } catch {
    return undefined;
  }
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < cmdline.length; i++) {
    if (cmdline[i] === 0) {
      parts.push(cmdline.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < cmdline.length) parts.push(cmdline.subarray(start));
  return parts.length >= count ? parts.slice(parts.length - count) : undefined;
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** The first argument that is not valid UTF-8, with its bytes shown as escapes; null if all are. */
export function invalidUtf8Argument(args: readonly Uint8Array[]): { index: number; shown: string } | null {
  for (const [index, bytes] of args.entries()) {
    try {
      strict.decode(bytes);
    } catch {
      const shown = [...bytes]
        .map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
        .join('');
      return { index, shown };
    }
  }
  return null;
}

/** The variables xlp reads paths and choices from (the state directories hang off them). */
const READ_FROM_ENV = /^(XLP_[A-Z_]+|XDG_STATE_HOME|HOME|XEN_LIVEPATCH_LIBXENCTRL)=/;

/**
 * The first environment variable xlp reads whose value is not valid UTF-8 (Node would hand it
 * over with U+FFFD in place of its bytes: another directory than the one set), or null.
 */
export function invalidUtf8Environment(): string | null {
  let environ: Buffer;
  try {
    environ = readFileSync('/proc/self/environ');
  } catch {
    return null;
  }
  let start = 0;
  for (let i = 0; i <= environ.length; i++) {
    if (i < environ.length && environ[i] !== 0) continue;
    const entry = environ.subarray(start, i);
    start = i + 1;
    const head = entry.subarray(0, 64).toString('latin1');
    const m = READ_FROM_ENV.exec(head);
    if (!m) continue;
    try {
      strict.decode(entry);
    } catch {
      return m[1]!;
    }
  }
  return null;
}
