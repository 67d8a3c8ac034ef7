/**
 * The shared shape of the lifecycle's refusals (installed patches, signatures, sync, boot): a
 * stable `code`, a `category` the CLI maps to its exit codes as it does for the workflows' errors,
 * the payload and file concerned when there is one, and a sentence an operator can act on.
 * Each module defines its own subclasses next to the code that raises them.
 */

/**
 * How a caller should treat a lifecycle error: `usage` (a wrong argument: exit 2) or `failed`
 * (anything else: exit 1). The same words as the workflows' `FailureCategory`.
 */
export type LifecycleFailureCategory = 'usage' | 'failed';

/** Base class of every lifecycle error. */
export abstract class LifecycleError extends Error {
  /** A stable identifier of the error kind, e.g. `ESIGNATURE`. */
  abstract readonly code: string;
  /** How a caller (the CLI) should treat it. */
  abstract readonly category: LifecycleFailureCategory;
  /** The payload concerned, when there is one. */
  readonly payload: string | undefined;
  /** The file concerned, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, options: { payload?: string; file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.payload = options.payload;
    this.file = options.file;
  }

  /** Fields of the JSON error object beyond code, message, kind, payload and file. */
  protected extra(): Record<string, unknown> {
    return {};
  }

  /** The error as a JSON object: `{code, message, kind, payload?, file?, ...}`. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      kind: this.name,
      ...(this.payload === undefined ? {} : { payload: this.payload }),
      ...(this.file === undefined ? {} : { file: this.file }),
      ...this.extra(),
    };
  }
}

/** Names quoted for a message: at most five, then "and N more". */
export function quoteNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n));
  const list = shown.length <= 1 ? shown.join('') : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
  return names.length > 5 ? `${shown.join(', ')} and ${names.length - 5} more` : list;
}
