/**
 * The serial protocol survives a Xen line spliced into a dom0 line, as Xen 4.20 did under load in
 * this harness (a blob chunk of /proc/xen/xensyms was lost to `(XEN) uart interrupt taking more
 * than 4ms, switched to polling` written into the middle of it).
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MARKER, ProtocolParser, SerialSplices } from '../../scripts/xen-vm/protocol.js';

const XEN_NOTICE = '(XEN) uart interrupt taking more than 4ms, switched to polling';

function chunkLine(seq: number, data: Buffer): string {
  return `${MARKER}${JSON.stringify({ type: 'blob-chunk', name: 'xensyms', seq, crc: crc32(data).toString(16), data: data.toString('base64') })}`;
}

function feedAll(lines: string[]): { parser: ProtocolParser; xen: string[]; repaired: number } {
  const parser = new ProtocolParser();
  const splices = new SerialSplices();
  const xen: string[] = [];
  const take = (l: string) => {
    if (l.startsWith('(XEN) ')) xen.push(l);
    parser.feed(l);
  };
  for (const raw of lines) for (const l of splices.push(raw)) take(l);
  for (const l of splices.flush()) take(l);
  return { parser, xen, repaired: splices.repaired };
}

describe('SerialSplices', () => {
  const data = Buffer.from('ffff82d040254980 t common/sched/credit2.c#csched2_unit_grab_budget\n'.repeat(20));
  const begin = `${MARKER}${JSON.stringify({ type: 'blob-begin', name: 'xensyms', size: data.length, sha256: '', chunks: 1 })}`;

  it('takes a Xen line spliced into a protocol line back out, and the chunk arrives whole', () => {
    const line = chunkLine(0, data);
    const cut = 150;
    // What the serial log held: the protocol line cut by Xen's own line and its \r\n.
    const { parser, xen, repaired } = feedAll([begin, `${line.slice(0, cut)}${XEN_NOTICE}`, line.slice(cut)]);
    expect(parser.errors).toEqual([]);
    expect(repaired).toBe(1);
    expect(xen).toEqual([XEN_NOTICE]);
    expect(parser.events.map((e) => e.type)).toEqual(['blob-begin', 'blob-chunk']);
    expect(Buffer.from(String(parser.events[1]!.data), 'base64').equals(data)).toBe(true);
  });

  it('leaves a protocol line that carries "(XEN) " lines inside its JSON alone', () => {
    const line = `${MARKER}${JSON.stringify({ type: 'result', name: 'x', ok: true, console: ['(XEN) livepatch: t: build-id mismatch:'] })}`;
    const { parser, repaired } = feedAll([begin, line]);
    expect(repaired).toBe(0);
    expect(parser.errors).toEqual([]);
    expect(parser.events.map((e) => e.type)).toEqual(['blob-begin', 'result']);
  });

  it('still reports a protocol line that is garbled otherwise', () => {
    const { parser } = feedAll([`${MARKER}{"type":"result","name":`]);
    expect(parser.errors).toHaveLength(1);
  });
});
