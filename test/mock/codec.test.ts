/** The persisted mock state's JSON codec: bigints and byte arrays, Node Buffers included. */
import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from '../../lib/mock/codec.js';

describe('mock state codec', () => {
  it('round-trips bigints, Uint8Arrays and Buffer slices as bytes', () => {
    const file = Buffer.from('xxPURPOSE=demo\0AUTHOR=me\0yy');
    const value = {
      addr: 0xffff82d040800000n,
      neg: -5n,
      raw: file.subarray(2, 25),
      plain: Uint8Array.of(1, 2, 3),
      nested: [{ data: Buffer.from([9]) }],
    };
    const text = encodeJson(value);
    expect(text).not.toContain('"type":"Buffer"');
    const back = decodeJson(text) as typeof value;
    expect(back.addr).toBe(0xffff82d040800000n);
    expect(back.neg).toBe(-5n);
    expect(back.raw).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back.raw).toString('latin1')).toBe('PURPOSE=demo\0AUTHOR=me\0');
    expect([...back.plain]).toEqual([1, 2, 3]);
    expect([...back.nested[0]!.data]).toEqual([9]);
  });

  it('reads byte arrays an earlier version stored as {"type":"Buffer","data":[...]}', () => {
    const back = decodeJson('{"raw":{"type":"Buffer","data":[65,0,66]}}') as { raw: Uint8Array };
    expect(back.raw).toBeInstanceOf(Uint8Array);
    expect([...back.raw]).toEqual([65, 0, 66]);
  });
});
