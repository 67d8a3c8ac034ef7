import { type Colors, createColors } from './colors.js';
import type { ExitCode } from './exit-codes.js';
import { stderr as processStderr, stdout as processStdout, type TextSink } from './std-stream.js';

/** How a command's result reaches the user: JSON on stdout for machines, text for people. */
export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
}

/**
 * Text for a terminal: invisible formatting characters (bidirectional overrides, zero-width
 * characters), C1 controls and line separators become `\u{...}`, so a name some other tool
 * uploaded, or a console line, cannot make the output show what is not there. (C0 controls are
 * left: the newlines and colours are ours, and payload names with C0 controls are refused.)
 */
export function displaySafe(text: string): string {
  return text.replace(/[\x80-\x9f\u2028\u2029\p{Cf}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Spinners only for a person at a terminal (stderr), never in JSON mode or with NO_COLOR. */
  readonly interactive: boolean;
  /** Colours for stdout text: only when stdout is a terminal, never in JSON mode or with NO_COLOR. */
  readonly color: Colors;
  private readonly errColor: Colors;

  constructor(
    options: OutputOptions,
    /** stdout, for the result. */
    readonly stdout: TextSink = processStdout(),
    /** stderr, for progress, notes and errors. */
    readonly stderr: TextSink = processStderr(),
  ) {
    this.json = options.json;
    this.quiet = options.quiet;
    const noColor = 'NO_COLOR' in process.env && process.env.NO_COLOR !== '';
    this.interactive = !options.json && Boolean(stderr.isTTY) && !noColor;
    this.color = createColors(!options.json && Boolean(stdout.isTTY) && !noColor);
    this.errColor = createColors(Boolean(stderr.isTTY) && !noColor);
  }

  /** The command's result: a JSON document, or lines of text (suppressed by --quiet). */
  result(value: unknown, text: () => string): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
    else if (!this.quiet) {
      const t = displaySafe(text());
      if (t) this.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
    }
  }

  /**
   * Part of the result, printed as soon as it is known (a step of a multi-step command), so it
   * comes in order with the progress on stderr; text mode only (JSON prints the whole result last).
   */
  partial(text: string): void {
    if (!this.json && !this.quiet) this.stdout.write(`${displaySafe(text)}\n`);
  }

  /** Progress and notes for people, on stderr; never in JSON or quiet mode. */
  info(line: string): void {
    if (!this.json && !this.quiet) this.stderr.write(`${displaySafe(line)}\n`);
  }

  /** A fact about how the command runs (e.g. which hypervisor), on stderr even in JSON mode; not with --quiet. */
  notice(line: string): void {
    if (!this.quiet) this.stderr.write(`${this.errColor.cyan('xlp: note:')} ${displaySafe(line)}\n`);
  }

  /** Something the user should know even in JSON mode (where stdout stays pure JSON): on stderr. */
  warn(line: string): void {
    if (!this.quiet) this.stderr.write(`${this.errColor.yellow('xlp: warning:')} ${displaySafe(line)}\n`);
  }

  /** A failure: `{"error": {...}}` on stdout in JSON mode, one sentence (plus details) on stderr otherwise. */
  error(error: CliErrorReport, exitCode: ExitCode): void {
    if (this.json) this.stdout.write(`${JSON.stringify({ error: { ...error, exitCode } }, jsonReplacer, 2)}\n`);
    else {
      this.stderr.write(`${this.errColor.red('xlp:')} ${displaySafe(error.message)}\n`);
      for (const d of error.details ?? []) this.stderr.write(`  ${displaySafe(d)}\n`);
    }
  }
}

/** The `error` object of the JSON schema. `code`/`errno` are present whenever an errno is behind it. */
export interface CliErrorReport {
  readonly code: string;
  readonly errno?: number;
  readonly message: string;
  readonly payload?: string;
  readonly details?: readonly string[];
  readonly [extra: string]: unknown;
}

/** bigint and byte arrays have no JSON form of their own: hex strings, as readelf prints them. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
