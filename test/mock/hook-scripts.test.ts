/**
 * Hook behaviours in their data form, as `xlp mock hook` and a state directory give them: what a
 * script may say (and each refusal's message), the CLI's rc syntax, the rc of the nth call of a
 * sequence, and which rule a hook runs when several match.
 */
import { describe, expect, it } from 'vitest';
import { checkHookScript, findRule, type HookRule, parseRcSequence, scriptRc, selectorMatches } from '../../lib/mock/hooks.js';

describe('a hook script', () => {
  it('takes rc (an int or a list of ints), printk lines, an fstate effect, helper calls and a bug', () => {
    const full = {
      rc: [-1, 0],
      printk: ['a'],
      printkAfter: ['b'],
      fstate: 'not-applied',
      calls: ['revert_payload', 'revert_payload_tail'],
      bug: true,
    };
    expect(checkHookScript(full)).toBe(full);
    for (const ok of [
      {},
      { rc: -0x8000_0000 },
      { rc: 0x7fff_ffff },
      { rc: [] },
      { printk: [] },
      { fstate: 'consistent' },
      { fstate: 'applied' },
      { fstate: 'unchanged' },
      { bug: 'here.c:12' },
    ])
      expect(checkHookScript(ok)).toBe(ok);
  });

  it('refuses anything else, saying what is wrong', () => {
    const refusals: [unknown, string][] = [
      [null, 'a hook script must be an object'],
      [[], 'a hook script must be an object'],
      ['rc=-1', 'a hook script must be an object'],
      [{ rc: 1, retries: 2 }, 'unknown hook script field "retries"'],
      [{ rc: 1.5 }, 'rc must be an int or a list of ints'],
      [{ rc: '-1' }, 'rc must be an int or a list of ints'],
      [{ rc: 0x8000_0000 }, 'rc must be an int or a list of ints'],
      [{ rc: -0x8000_0001 }, 'rc must be an int or a list of ints'],
      [{ rc: [0, 0.5] }, 'rc must be an int or a list of ints'],
      [{ rc: { 0: 1 } }, 'rc must be an int or a list of ints'],
      [{ printk: 'one line' }, 'printk must be a list of strings'],
      [{ printk: ['a', 1] }, 'printk must be a list of strings'],
      [{ printkAfter: [null] }, 'printkAfter must be a list of strings'],
      [{ fstate: 'half' }, 'bad fstate effect'],
      [{ calls: 'revert_payload' }, 'calls may only name revert_payload and revert_payload_tail'],
      [{ calls: ['revert_payload', 'free_payload'] }, 'calls may only name revert_payload and revert_payload_tail'],
      [{ bug: false }, 'bug must be true or a location string'],
      [{ bug: 1 }, 'bug must be true or a location string'],
    ];
    for (const [script, message] of refusals) {
      expect(() => checkHookScript(script), JSON.stringify(script)).toThrow(new TypeError(message));
    }
  });
});

describe("the CLI's rc syntax", () => {
  it('is one int, or a sequence separated by commas or "then"', () => {
    expect(parseRcSequence('-22')).toBe(-22);
    expect(parseRcSequence('+5')).toBe(5);
    expect(parseRcSequence(' 0 ')).toBe(0);
    expect(parseRcSequence('-1,0')).toEqual([-1, 0]);
    expect(parseRcSequence('-1 , -2,0')).toEqual([-1, -2, 0]);
    expect(parseRcSequence('-1 then 0')).toEqual([-1, 0]);
    expect(parseRcSequence('-2147483648,2147483647')).toEqual([-0x8000_0000, 0x7fff_ffff]);
  });

  it('refuses what is not an int, does not fit one, or is empty', () => {
    expect(() => parseRcSequence('-1,x')).toThrow(new RangeError('not an rc: "x" (expected an integer such as -22)'));
    expect(() => parseRcSequence('1.5')).toThrow(new RangeError('not an rc: "1.5" (expected an integer such as -22)'));
    expect(() => parseRcSequence('2147483648')).toThrow(new RangeError('rc 2147483648 does not fit in an int'));
    expect(() => parseRcSequence('-2147483649')).toThrow(new RangeError('rc -2147483649 does not fit in an int'));
    expect(() => parseRcSequence(' , ')).toThrow(new RangeError('no rc given'));
    expect(() => parseRcSequence('')).toThrow(new RangeError('no rc given'));
  });
});

describe('the rc of a call', () => {
  it('is 0 by default, the number given, or the nth of a sequence whose last value repeats', () => {
    expect(scriptRc({}, 1)).toBe(0);
    expect(scriptRc({ rc: -5 }, 3)).toBe(-5);
    expect(scriptRc({ rc: [] }, 1)).toBe(0);
    expect([1, 2, 3, 4].map((n) => scriptRc({ rc: [-1, -2, 7] }, n))).toEqual([-1, -2, 7, 7]);
  });
});

describe('which rule a hook runs', () => {
  const rule = (id: number, selector: HookRule['selector']): HookRule => ({ id, selector, behaviour: {}, calls: 0 });

  it('matches on every field it gives', () => {
    expect(selectorMatches({}, 'p', 'apply', 'sym')).toBe(true);
    expect(selectorMatches({ payload: 'p', kind: 'apply', symbol: 'sym' }, 'p', 'apply', 'sym')).toBe(true);
    expect(selectorMatches({ payload: 'q' }, 'p', 'apply', 'sym')).toBe(false);
    expect(selectorMatches({ kind: 'revert' }, 'p', 'apply', 'sym')).toBe(false);
    expect(selectorMatches({ symbol: 'other' }, 'p', 'apply', 'sym')).toBe(false);
    expect(selectorMatches({ symbol: 'sym' }, 'p', 'apply', null)).toBe(false);
  });

  it('the most specific one: a symbol counts more than payload and kind together; the latest among equals; in-process functions win ties', () => {
    const any = rule(1, {});
    const byPayload = rule(2, { payload: 'p' });
    const byKind = rule(3, { kind: 'apply' });
    const byBoth = rule(4, { payload: 'p', kind: 'apply' });
    const bySymbol = rule(5, { symbol: 'sym' });
    const other = rule(6, { payload: 'q', symbol: 'sym' });
    expect(findRule([], [], 'p', 'apply', 'sym')).toBeUndefined();
    expect(findRule([any], [], 'p', 'apply', 'sym')).toBe(any);
    expect(findRule([byPayload, any], [], 'p', 'apply', 'sym')).toBe(byPayload);
    expect(findRule([any, byBoth, byKind, byPayload], [], 'p', 'apply', 'sym')).toBe(byBoth);
    expect(findRule([bySymbol, byBoth], [], 'p', 'apply', 'sym')).toBe(bySymbol);
    expect(findRule([byBoth, bySymbol, other], [], 'p', 'apply', 'sym')).toBe(bySymbol);
    expect(findRule([bySymbol], [], 'p', 'apply', 'other-sym')).toBeUndefined();
    // Equals: the latest (highest id), whatever the order they are listed in.
    const byKindLater = rule(7, { kind: 'apply' });
    expect(findRule([byKindLater, byKind], [], 'p', 'apply', 'sym')).toBe(byKindLater);
    expect(findRule([byKind, byKindLater], [], 'p', 'apply', 'sym')).toBe(byKindLater);
    expect(findRule([byPayload, byKind], [], 'p', 'apply', 'sym')).toBe(byKind);
    // An in-process function wins a tie with a script, even an older one, but not a more specific script.
    const fn = rule(1, { kind: 'apply' });
    expect(findRule([byKindLater], [fn], 'p', 'apply', 'sym')).toBe(fn);
    expect(findRule([byBoth], [fn], 'p', 'apply', 'sym')).toBe(byBoth);
  });
});
