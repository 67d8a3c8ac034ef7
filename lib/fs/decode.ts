/**
 * Decoders for JSON read back from state files: a file in a state directory is untrusted input
 * (a crash can truncate it, anyone with the user's rights can edit it), so what comes out of
 * JSON.parse is checked field by field (types, ranges, lengths) and rebuilt from the fields that
 * were checked, before any code relies on its shape. A mismatch is a `DecodeError` naming where
 * (`machine.payloads[2].rc`) and what was expected; the stores turn it into their own typed error.
 */

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly at: string,
    readonly expected: string,
  ) {
    super(`${at}: expected ${expected}`);
  }
}

export type Decoder<T> = (value: unknown, at: string) => T;

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

function fail(at: string, expected: string, got: unknown): never {
  throw new DecodeError(at, `${expected}, not ${describe(got)}`);
}

export const string =
  (maxLength = 1 << 20): Decoder<string> =>
  (v, at) => {
    if (typeof v !== 'string') fail(at, 'a string', v);
    if (v.length > maxLength) throw new DecodeError(at, `a string of at most ${maxLength} characters`);
    return v;
  };

/** A string matching `re` (anchored by the caller). */
export const matching =
  (re: RegExp, what: string): Decoder<string> =>
  (v, at) => {
    if (typeof v !== 'string' || !re.test(v)) throw new DecodeError(at, what);
    return v;
  };

// Number.isSafeInteger and Number.isFinite are false for every non-number, but TypeScript does not
// know it: typed as the type guards they are, no separate `typeof v === 'number'` is needed.
const isSafeInteger = Number.isSafeInteger as (v: unknown) => v is number;
const isFinite = Number.isFinite as (v: unknown) => v is number;

export const boolean: Decoder<boolean> = (v, at) => (typeof v === 'boolean' ? v : fail(at, 'true or false', v));

/** A safe integer in [min, max]. */
export const integer =
  (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Decoder<number> =>
  (v, at) => {
    if (!isSafeInteger(v)) fail(at, 'an integer', v);
    if (v < min || v > max) throw new DecodeError(at, `an integer from ${min} to ${max}, not ${v}`);
    return v;
  };

/** A finite number in [min, max]. */
export const number =
  (min = -Number.MAX_VALUE, max = Number.MAX_VALUE): Decoder<number> =>
  (v, at) => {
    if (!isFinite(v)) fail(at, 'a finite number', v);
    if (v < min || v > max) throw new DecodeError(at, `a number from ${min} to ${max}, not ${v}`);
    return v;
  };

/** A bigint (the codec's `{"$big": hex}`) in [min, max]. */
export const bigint =
  (min?: bigint, max?: bigint): Decoder<bigint> =>
  (v, at) => {
    if (typeof v !== 'bigint') fail(at, 'a big integer', v);
    // A missing bound is v itself: bigints have no infinity to stand for "unbounded".
    if (v < (min ?? v) || v > (max ?? v)) throw new DecodeError(at, `a big integer from ${min} to ${max}`);
    return v;
  };

/** Bytes (the codec's `{"$b64": ...}`), at most `maxLength` of them. */
export const bytes =
  (maxLength = 1 << 24): Decoder<Uint8Array> =>
  (v, at) => {
    if (!(v instanceof Uint8Array)) fail(at, 'bytes', v);
    if (v.length > maxLength) throw new DecodeError(at, `at most ${maxLength} bytes`);
    return v;
  };

export const literal =
  <const T extends readonly (string | number | boolean | null)[]>(...values: T): Decoder<T[number]> =>
  (v, at) => {
    if (!values.includes(v as T[number])) throw new DecodeError(at, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    return v as T[number];
  };

export const nullable =
  <T>(d: Decoder<T>): Decoder<T | null> =>
  (v, at) =>
    v === null ? null : d(v, at);

export const array =
  <T>(d: Decoder<T>, maxLength = 1 << 20): Decoder<T[]> =>
  (v, at) => {
    if (!Array.isArray(v)) fail(at, 'an array', v);
    if (v.length > maxLength) throw new DecodeError(at, `at most ${maxLength} entries`);
    return v.map((x, i) => d(x, `${at}[${i}]`));
  };

/** Marks an object field that may be absent (it is then left out of the result). */
export interface Optional<T> {
  readonly optional: Decoder<T>;
}
export const optional = <T>(d: Decoder<T>): Optional<T> => ({ optional: d });

type Fields = Record<string, Decoder<unknown> | Optional<unknown>>;
type Decoded<F extends Fields> = {
  -readonly [K in keyof F as F[K] extends Optional<unknown> ? never : K]: F[K] extends Decoder<infer T> ? T : never;
} & {
  -readonly [K in keyof F as F[K] extends Optional<unknown> ? K : never]?: F[K] extends Optional<infer T> ? T : never;
};

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** An object with these fields (others are dropped), rebuilt from the decoded values. */
export const object =
  <F extends Fields>(fields: F): Decoder<Decoded<F>> =>
  (v, at) => {
    if (!isPlainObject(v)) fail(at, 'an object', v);
    const out: Record<string, unknown> = {};
    for (const [key, d] of Object.entries(fields)) {
      const has = Object.hasOwn(v, key) && v[key] !== undefined;
      if (typeof d === 'function') {
        if (!has) throw new DecodeError(`${at}.${key}`, 'a value (it is missing)');
        out[key] = d(v[key], `${at}.${key}`);
      } else if (has) out[key] = d.optional(v[key], `${at}.${key}`);
    }
    return out as Decoded<F>;
  };

/** A string-keyed map, kept in a prototype-less object so no key can reach Object.prototype. */
export const dictionary =
  <T>(key: Decoder<string>, d: Decoder<T>, maxEntries = 1 << 20): Decoder<Record<string, T>> =>
  (v, at) => {
    if (!isPlainObject(v)) fail(at, 'an object', v);
    const entries = Object.entries(v);
    if (entries.length > maxEntries) throw new DecodeError(at, `at most ${maxEntries} entries`);
    const out = Object.create(null) as Record<string, T>;
    for (const [k, x] of entries) out[key(k, `${at} key ${JSON.stringify(k)}`)] = d(x, `${at}[${JSON.stringify(k)}]`);
    return out;
  };

/** One of several object shapes, told apart by the string field `tag`. */
export const tagged =
  <T>(tag: string, shapes: Readonly<Record<string, Decoder<T>>>): Decoder<T> =>
  (v, at) => {
    if (!isPlainObject(v)) fail(at, 'an object', v);
    const t = v[tag];
    if (typeof t !== 'string' || !Object.hasOwn(shapes, t))
      throw new DecodeError(`${at}.${tag}`, `one of ${Object.keys(shapes).join(', ')}`);
    return shapes[t]!(v, at);
  };

/** Either decoder's result (the first that accepts the value). */
export const either =
  <A, B>(a: Decoder<A>, b: Decoder<B>, what: string): Decoder<A | B> =>
  (v, at) => {
    try {
      return a(v, at);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      try {
        return b(v, at);
      } catch (e2) {
        if (!(e2 instanceof DecodeError)) throw e2;
        throw new DecodeError(at, what);
      }
    }
  };

/** A check on a decoded value: `ok` false makes it a DecodeError saying `what`. */
export const refine =
  <T>(d: Decoder<T>, ok: (v: T) => boolean, what: string): Decoder<T> =>
  (v, at) => {
    const x = d(v, at);
    if (!ok(x)) throw new DecodeError(at, what);
    return x;
  };

/**
 * JSON.parse for untrusted text: any failure (syntax, or a nesting so deep it exhausts the stack)
 * is a DecodeError; `reviver` as JSON.parse takes it.
 */
export function parseJson(text: string, at: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return reviver ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (e) {
    throw new DecodeError(at, `valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}
