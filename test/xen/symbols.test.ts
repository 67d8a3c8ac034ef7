/** The nm-format symbol table reader shared by the CLI, the mock and the system context. */
import { describe, expect, it } from 'vitest';
import { formatNmSymbols, parseNmSymbols } from '../../lib/xen/symbols.js';

describe('parseNmSymbols', () => {
  it('reads /proc/xen/xensyms lines, local symbols included', () => {
    const { symbols, errors } = parseNmSymbols('ffff82d040257a20 T printk\nffff82d040200000 t common/version.c#xen_build_init\nffff82d040400000 D xen_minor_version\n');
    expect(errors).toEqual([]);
    expect(symbols.get('printk')).toBe(0xffff82d040257a20n);
    expect(symbols.get('common/version.c#xen_build_init')).toBe(0xffff82d040200000n);
    expect(symbols.size).toBe(3);
  });

  it('keeps the first of duplicate names, skips undefined entries and blank lines, accepts CRLF', () => {
    const { symbols, errors } = parseNmSymbols('0000000000001000 T a\r\n0000000000002000 T a\n                 U printk\n\n');
    expect(errors).toEqual([]);
    expect([...symbols]).toEqual([['a', 0x1000n]]);
  });

  it('reports unreadable lines with their numbers', () => {
    const { errors } = parseNmSymbols('0000000000001000 T a\nthis is not nm\n');
    expect(errors).toEqual([{ line: 2, text: 'this is not nm' }]);
  });

  it('round-trips through formatNmSymbols', () => {
    const m = new Map([
      ['x', 0xffff82d040000000n],
      ['y', 1n],
    ]);
    expect(parseNmSymbols(formatNmSymbols(m)).symbols).toEqual(m);
  });
});
