/**
 * How Xen's `printk` lands in the console ring (xen/drivers/char/console.c, 4.17.7):
 * - a message may start with level markers `<0>` ERR, `<1>` WARNING, `<2>` INFO, `<3>` DEBUG
 *   (`<G>` marks guest-caused output); without one the level is WARNING;
 * - a line is kept if its level is below the `loglvl=` thresholds (Xen rate-limits the band
 *   between the lower and the upper threshold; the mock keeps those lines, see docs/mock.md);
 *   while a debug key runs, `console_start_log_everything` keeps every level;
 * - each kept line starts with `(XEN) ` (no timestamp: `console_timestamps` defaults to none), and
 *   a printk without a final newline continues the current line with the decision already taken.
 */
import { type ConsoleRing } from './console-ring.js';

export const XENLOG = { ERR: '<0>', WARNING: '<1>', INFO: '<2>', DEBUG: '<3>' } as const;

/** `loglvl=` as numbers: a line of level L is kept when L < upper (always when L < lower). */
export interface LogThresholds {
  readonly lower: number;
  readonly upper: number;
}

const LEVEL_NAMES: Readonly<Record<string, number>> = { none: 0, error: 1, warning: 2, info: 3, debug: 4, all: 4 };

/** The release build's default (`NDEBUG`: ERR and WARNING kept, INFO and DEBUG dropped). */
export const RELEASE_LOGLVL = 'warning';

/** Parses Xen's `loglvl=<always>[/<ratelimited>]` syntax, e.g. `all`, `warning`, `error/warning`. */
export function parseLoglvl(spec: string): LogThresholds {
  const [a, b, ...rest] = spec.split('/');
  // Own keys only: `toString` and the like are not levels.
  const level = (name: string | undefined) => (name !== undefined && Object.hasOwn(LEVEL_NAMES, name) ? LEVEL_NAMES[name] : undefined);
  const lower = level(a);
  const upper = b === undefined ? lower : level(b);
  if (lower === undefined || upper === undefined || rest.length) {
    throw new RangeError(`not a Xen loglvl: ${JSON.stringify(spec)} (expected none|error|warning|info|debug|all, optionally /<level>)`);
  }
  return { lower, upper: Math.max(lower, upper) };
}

/** The prefix of every hypervisor line in the ring. */
export const XEN_PREFIX = '(XEN) ';

export class XenConsole {
  private continued = false;
  private doPrint = false;
  private everything = 0;

  constructor(
    readonly ring: ConsoleRing,
    readonly thresholds: LogThresholds,
  ) {}

  private keep(line: string): { print: boolean; rest: string } {
    let level = -1;
    let p = 0;
    while (line[p] === '<' && line[p + 1] !== undefined && line[p + 2] === '>') {
      const c = line[p + 1]!;
      if (c >= '0' && c <= '3') level = c.charCodeAt(0) - 48;
      else if (c === 'G' && level === -1) level = 1;
      p += 3;
    }
    if (level === -1) level = 1;
    const print = this.everything > 0 || level < this.thresholds.upper;
    return { print, rest: line.slice(p) };
  }

  /** `printk(text)`: `text` may hold several lines and a level marker at the start of each. */
  printk(text: string): void {
    let out = '';
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      let piece = nl === -1 ? text.slice(start) : text.slice(start, nl);
      if (nl === -1 && piece === '') break;
      if (!this.continued) {
        const k = this.keep(piece);
        this.doPrint = k.print;
        piece = k.rest;
        if (this.doPrint) out += XEN_PREFIX;
      }
      if (this.doPrint) out += nl === -1 ? piece : `${piece}\n`;
      this.continued = nl === -1;
      if (nl === -1) break;
      start = nl + 1;
    }
    if (out) this.ring.write(out);
  }

  /** Runs `fn` with every level kept, as Xen does around a debug-key handler. */
  logEverything<T>(fn: () => T): T {
    this.everything++;
    try {
      return fn();
    } finally {
      this.everything--;
    }
  }
}

/** `%*phN`: bytes as lowercase hex without separators; Xen prints at most 64 bytes. */
export function hexN(bytes: Uint8Array | string): string {
  const hex = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('hex');
  return hex.slice(0, 128);
}

/** `%p`: a pointer as 16 zero-padded hex digits, no `0x`. */
export function ptr(addr: bigint): string {
  return BigInt.asUintN(64, addr).toString(16).padStart(16, '0');
}

/** `%s` of a NULL pointer prints `<NULL>` in Xen's vsnprintf. */
export function str(s: string | null): string {
  return s ?? '<NULL>';
}
