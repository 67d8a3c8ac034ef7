/**
 * ANSI colours for the few styles xlp prints. Our own, instead of a package: the one we used
 * (picocolors) asks the `tty` module at load whether stdout is a terminal, and loading `tty` loads
 * Node's network streams, a cost every `xlp` start paid before printing anything
 * (`npm run bench:cli`). Whether to colour is decided by the caller (Output), not here.
 */

export interface Colors {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
}

/**
 * A style that survives nesting: a close code inside the text (from an inner style that shares
 * it) re-opens this style, so `red(bold(a) + b)` keeps `b` red.
 */
function style(open: number, close: number): (text: string) => string {
  const o = `\x1b[${open}m`;
  const c = `\x1b[${close}m`;
  return (text) => o + text.split(c).join(c + o) + c;
}

const plain = (text: string): string => text;

const COLORED: Colors = {
  bold: style(1, 22),
  dim: style(2, 22),
  red: style(31, 39),
  green: style(32, 39),
  yellow: style(33, 39),
  cyan: style(36, 39),
};

const PLAIN: Colors = { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };

export function createColors(enabled: boolean): Colors {
  return enabled ? COLORED : PLAIN;
}
