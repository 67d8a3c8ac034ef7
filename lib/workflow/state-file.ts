/**
 * xlp's own state files (the journal, the registry records, the in-flight action) read back as the
 * untrusted input they are: never through a symlink, only regular private files of a bounded size,
 * JSON decoded field by field. Whatever is wrong is a `StateFileError` naming the file, never a raw
 * Node error or a half-trusted object.
 */
import { type Decoder, DecodeError, parseJson } from '../fs/decode.js';
import { PrivateFileError, readPrivateFile } from '../fs/private-file.js';
import { InvalidNameError, validatePayloadName } from './names.js';

export type StateFileProblem =
  /** A symlink, not a regular file, another user's, or writable by others: refused without reading it. */
  | 'unsafe'
  /** Unreadable, too large, not JSON, or JSON of the wrong shape. */
  | 'damaged';

export class StateFileError extends Error {
  override readonly name: string = 'StateFileError';
  readonly code: string = 'ESTATEFILE';
  constructor(
    readonly file: string,
    readonly problem: StateFileProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface StateFileReadOptions {
  /** What the file is, for messages ("the journal"). */
  readonly what: string;
  readonly maxBytes: number;
  /** What to do about it, appended to the message. */
  readonly advice: string;
  /** The error class to throw (the journal has its own). */
  readonly error?: new (file: string, problem: StateFileProblem, message: string, options?: { cause?: unknown }) => StateFileError;
}

/** Reads and decodes `path`; null when it does not exist. */
export async function readStateFile<T>(path: string, decode: Decoder<T>, options: StateFileReadOptions): Promise<T | null> {
  const E = options.error ?? StateFileError;
  let data: Buffer | null;
  try {
    data = await readPrivateFile(path, { maxBytes: options.maxBytes });
  } catch (e) {
    if (!(e instanceof PrivateFileError)) throw e;
    const problem: StateFileProblem = e.problem === 'too-large' || e.problem === 'unreadable' ? 'damaged' : 'unsafe';
    throw new E(path, problem, `${options.what} ${path} cannot be used: ${e.message}; ${options.advice}`, { cause: e });
  }
  if (data === null) return null;
  try {
    return decode(parseJson(data.toString('utf8'), path), options.what);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    throw new E(path, 'damaged', `${options.what} ${path} is damaged (${e.message}); ${options.advice}`, { cause: e });
  }
}

/** A payload name as the workflows accept one (validatePayloadName), as a decoder. */
export const workflowName: Decoder<string> = (v, at) => {
  if (typeof v !== 'string') throw new DecodeError(at, 'a payload name');
  try {
    validatePayloadName(v);
  } catch (e) {
    if (e instanceof InvalidNameError) throw new DecodeError(at, `a valid payload name (${e.message})`);
    throw e;
  }
  return v;
};
