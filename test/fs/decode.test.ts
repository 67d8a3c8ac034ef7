/**
 * The decoders every state-file reader is built from: what each accepts, what it refuses, and the
 * message a user then reads (where in the file, what was expected, what was there instead).
 */
import { describe, expect, it } from 'vitest';
import {
  array,
  bigint,
  boolean,
  bytes,
  DecodeError,
  dictionary,
  either,
  integer,
  isPlainObject,
  literal,
  matching,
  nullable,
  number,
  object,
  optional,
  parseJson,
  refine,
  string,
  tagged,
} from '../../lib/fs/decode.js';

/** The DecodeError message `fn` throws (fails the test if it does not throw one). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).name).toBe('DecodeError');
    return (e as DecodeError).message;
  }
  throw new Error('accepted what it should refuse');
}

describe('state-file decoders', () => {
  it('strings: any string up to the bound; anything else names what it got', () => {
    expect(string(3)('abc', 'f')).toBe('abc');
    expect(string()('x'.repeat(1 << 20), 'f')).toHaveLength(1 << 20);
    expect(refusal(() => string()('x'.repeat((1 << 20) + 1), 'f'))).toBe(`f: expected a string of at most ${1 << 20} characters`);
    expect(refusal(() => string(3)('abcd', 'a.b'))).toBe('a.b: expected a string of at most 3 characters');
    expect(refusal(() => string()(5, 'a.b'))).toBe('a.b: expected a string, not number');
    expect(refusal(() => string()(null, 'a'))).toBe('a: expected a string, not null');
    expect(refusal(() => string()([], 'a'))).toBe('a: expected a string, not an array');
    expect(matching(/^[a-f]+$/, 'hex')('abc', 'h')).toBe('abc');
    expect(refusal(() => matching(/^[a-f]+$/, 'hex')('xyz', 'h'))).toBe('h: expected hex');
    expect(refusal(() => matching(/^1$/, 'one')(1, 'h'))).toBe('h: expected one');
  });

  it('booleans, integers, numbers and big integers: type, then range, both named', () => {
    expect(boolean(false, 'b')).toBe(false);
    expect(refusal(() => boolean('true', 'b'))).toBe('b: expected true or false, not string');
    expect(integer(0, 10)(0, 'i')).toBe(0);
    expect(integer(0, 10)(10, 'i')).toBe(10);
    expect(integer()(Number.MAX_SAFE_INTEGER, 'i')).toBe(Number.MAX_SAFE_INTEGER);
    expect(integer()(Number.MIN_SAFE_INTEGER, 'i')).toBe(Number.MIN_SAFE_INTEGER);
    expect(refusal(() => integer(0, 10)(11, 'i'))).toBe('i: expected an integer from 0 to 10, not 11');
    expect(refusal(() => integer(0, 10)(-1, 'i'))).toBe('i: expected an integer from 0 to 10, not -1');
    expect(refusal(() => integer()(1.5, 'i'))).toBe('i: expected an integer, not number');
    expect(refusal(() => integer()(2 ** 53, 'i'))).toBe('i: expected an integer, not number');
    expect(refusal(() => integer()('1', 'i'))).toBe('i: expected an integer, not string');
    expect(number(0, 1)(0.5, 'n')).toBe(0.5);
    expect(number(0, 1)(1, 'n')).toBe(1);
    expect(number(0, 1)(0, 'n')).toBe(0);
    expect(number()(-Number.MAX_VALUE, 'n')).toBe(-Number.MAX_VALUE);
    expect(refusal(() => number(0, 1)(1.5, 'n'))).toBe('n: expected a number from 0 to 1, not 1.5');
    expect(refusal(() => number(0, 1)(-0.5, 'n'))).toBe('n: expected a number from 0 to 1, not -0.5');
    expect(refusal(() => number()(Infinity, 'n'))).toBe('n: expected a finite number, not number');
    expect(refusal(() => number()(NaN, 'n'))).toBe('n: expected a finite number, not number');
    expect(refusal(() => number()('1', 'n'))).toBe('n: expected a finite number, not string');
    expect(bigint(0n, 9n)(9n, 'g')).toBe(9n);
    expect(bigint(0n, 9n)(0n, 'g')).toBe(0n);
    expect(bigint()(-(2n ** 80n), 'g')).toBe(-(2n ** 80n));
    expect(refusal(() => bigint(0n, 9n)(10n, 'g'))).toBe('g: expected a big integer from 0 to 9');
    expect(refusal(() => bigint(0n, 9n)(-1n, 'g'))).toBe('g: expected a big integer from 0 to 9');
    expect(refusal(() => bigint(0n)(-1n, 'g'))).toBe('g: expected a big integer from 0 to undefined');
    expect(refusal(() => bigint(5n, 9n)(4n, 'g'))).toBe('g: expected a big integer from 5 to 9');
    expect(bigint(5n)(2n ** 70n, 'g')).toBe(2n ** 70n);
    expect(bigint(undefined, 5n)(-(2n ** 70n), 'g')).toBe(-(2n ** 70n));
    expect(refusal(() => bigint()(1, 'g'))).toBe('g: expected a big integer, not number');
  });

  it('bytes and literals', () => {
    expect(bytes(2)(new Uint8Array(2), 'y')).toHaveLength(2);
    expect(bytes()(new Uint8Array(1 << 24), 'y')).toHaveLength(1 << 24);
    expect(refusal(() => bytes()(new Uint8Array((1 << 24) + 1), 'y'))).toBe(`y: expected at most ${1 << 24} bytes`);
    expect(refusal(() => bytes(2)(new Uint8Array(3), 'y'))).toBe('y: expected at most 2 bytes');
    expect(refusal(() => bytes(2)([1, 2], 'y'))).toBe('y: expected bytes, not an array');
    expect(literal('APPLY', 'REVERT', null)(null, 'l')).toBeNull();
    expect(literal('APPLY', 'REVERT')('REVERT', 'l')).toBe('REVERT');
    expect(refusal(() => literal('APPLY', 'REVERT', 3, true)('apply', 'l'))).toBe('l: expected one of "APPLY", "REVERT", 3, true');
  });

  it('arrays and nullables name the entry that is wrong', () => {
    expect(array(integer())([1, 2], 'a')).toEqual([1, 2]);
    expect(array(integer(), 2)([1, 2], 'a')).toEqual([1, 2]);
    expect(
      array(integer())(
        Array.from({ length: 1 << 20 }, () => 0),
        'a',
      ),
    ).toHaveLength(1 << 20);
    expect(
      refusal(() =>
        array(integer())(
          Array.from({ length: (1 << 20) + 1 }, () => 0),
          'a',
        ),
      ),
    ).toBe(`a: expected at most ${1 << 20} entries`);
    expect(refusal(() => array(integer(), 2)([1, 2, 3], 'a'))).toBe('a: expected at most 2 entries');
    expect(refusal(() => array(integer())([1, 'x'], 'm.list'))).toBe('m.list[1]: expected an integer, not string');
    expect(refusal(() => array(integer())({ 0: 1 }, 'a'))).toBe('a: expected an array, not object');
    expect(nullable(integer())(null, 'n')).toBeNull();
    expect(nullable(integer())(3, 'n')).toBe(3);
    expect(refusal(() => nullable(integer())(undefined, 'n'))).toBe('n: expected an integer, not undefined');
  });

  it('objects keep only the declared fields, rebuilt; a missing or wrong field is named with its path', () => {
    const d = object({ a: integer(), b: optional(string()), c: optional(nullable(integer())) });
    const out = d({ a: 1, b: 'x', extra: true }, 'o');
    expect(out).toEqual({ a: 1, b: 'x' });
    expect(Object.keys(d({ a: 1, b: undefined }, 'o'))).toEqual(['a']);
    expect(d({ a: 1, c: null }, 'o')).toEqual({ a: 1, c: null });
    expect(refusal(() => d({ b: 'x' }, 'o'))).toBe('o.a: expected a value (it is missing)');
    expect(refusal(() => d({ a: undefined }, 'o'))).toBe('o.a: expected a value (it is missing)');
    expect(refusal(() => d({ a: 1, b: 2 }, 'o'))).toBe('o.b: expected a string, not number');
    // An inherited field is no field: a prototype cannot smuggle a value in.
    expect(refusal(() => d(Object.create({ a: 1 }), 'o'))).toBe('o.a: expected a value (it is missing)');
    expect(refusal(() => d([1], 'o'))).toBe('o: expected an object, not an array');
    expect(refusal(() => d(null, 'o'))).toBe('o: expected an object, not null');
    expect(refusal(() => d('s', 'o'))).toBe('o: expected an object, not string');
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(new Uint8Array(1))).toBe(false);
    expect(isPlainObject(1n)).toBe(false);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
  });

  it('dictionaries check every key and value, bound their size and cannot reach Object.prototype', () => {
    const d = dictionary(matching(/^[a-z_]+$/, 'a name'), integer());
    const out = d({ a: 1, __proto__x: 2 }, 'r');
    expect(out).toEqual({ a: 1, __proto__x: 2 });
    expect(Object.getPrototypeOf(out)).toBeNull();
    const viaJson = d(JSON.parse('{"__proto__": 3}'), 'r');
    expect(Object.getPrototypeOf(viaJson)).toBeNull();
    expect(viaJson['__proto__']).toBe(3);
    expect(refusal(() => d({ A: 1 }, 'r'))).toBe('r key "A": expected a name');
    expect(refusal(() => d({ a: 'x' }, 'r'))).toBe('r["a"]: expected an integer, not string');
    expect(refusal(() => d([], 'r'))).toBe('r: expected an object, not an array');
    expect(dictionary(string(), integer(), 2)({ a: 1, b: 2 }, 'r')).toEqual({ a: 1, b: 2 });
    expect(refusal(() => dictionary(string(), integer(), 2)({ a: 1, b: 2, c: 3 }, 'r'))).toBe('r: expected at most 2 entries');
    expect(
      Object.keys(dictionary(string(), integer())(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i])), 'r')),
    ).toHaveLength(10);
  });

  it('tagged shapes are told apart by their tag; an unknown tag lists the known ones', () => {
    const d = tagged<{ kind: 'one'; x: number } | { kind: 'two' }>('kind', {
      one: object({ kind: literal('one'), x: integer() }),
      two: object({ kind: literal('two') }),
    });
    expect(d({ kind: 'one', x: 1 }, 't')).toEqual({ kind: 'one', x: 1 });
    expect(d({ kind: 'two', x: 1 }, 't')).toEqual({ kind: 'two' });
    expect(refusal(() => d({ kind: 'three' }, 't'))).toBe('t.kind: expected one of one, two');
    expect(refusal(() => d({ kind: 'toString' }, 't'))).toBe('t.kind: expected one of one, two');
    expect(refusal(() => d({ kind: 1 }, 't'))).toBe('t.kind: expected one of one, two');
    expect(refusal(() => d([], 't'))).toBe('t: expected an object, not an array');
    // The tag must be a string: a number is refused even where its digits name a shape.
    const numbered = tagged<{ v: 1 }>('v', { '1': object({ v: literal(1) }) });
    expect(refusal(() => numbered({ v: 1 }, 'n'))).toBe('n.v: expected one of 1');
    expect(refusal(() => numbered({ v: true }, 'n'))).toBe('n.v: expected one of 1');
  });

  it('either takes the first decoder that accepts; refused by both, it says what was wanted; other errors pass through', () => {
    const d = either(integer(), string(), 'a number or a name');
    expect(d(1, 'e')).toBe(1);
    expect(d('x', 'e')).toBe('x');
    expect(refusal(() => d(true, 'e'))).toBe('e: expected a number or a name');
    const boom = (): never => {
      throw new RangeError('boom');
    };
    expect(() => either(boom, string(), 'w')('x', 'e')).toThrow(RangeError);
    expect(() => either(integer(), boom, 'w')('x', 'e')).toThrow(RangeError);
  });

  it('refine adds a check after decoding; parseJson turns any parse failure into a DecodeError', () => {
    const even = refine(integer(), (v) => v % 2 === 0, 'an even number');
    expect(even(4, 'r')).toBe(4);
    expect(refusal(() => even(3, 'r'))).toBe('r: expected an even number');
    expect(refusal(() => even('4', 'r'))).toBe('r: expected an integer, not string');
    expect(parseJson('{"a":1}', 'f')).toEqual({ a: 1 });
    expect(parseJson('{"a":1}', 'f', (k, v) => (k === 'a' ? 2 : v))).toEqual({ a: 2 });
    expect(refusal(() => parseJson('{', 'state.json'))).toMatch(/^state\.json: expected valid JSON \(.+\)$/);
  });
});
