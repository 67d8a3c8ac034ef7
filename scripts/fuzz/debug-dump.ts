/**
 * Fuzz target `debug-dump`: the parser of the hypervisor's answer to debug key `x`
 * (`parseDebugDump`, lib/workflow/debug-dump.ts), through that public function only. Inputs are
 * dumps written the way Xen 4.17's `livepatch_printall` writes them (names, metadata and function
 * names with any printable character, build-ids present or not), in rings that may hold an older
 * dump before, other lines after, or "Lock held. Try again." in the middle. Oracles:
 *  - a clean dump parses back to exactly what was printed (the last dump of the ring);
 *  - a dump cut by "Lock held." is reported incomplete, with the payloads printed before it;
 *  - a dump with other subsystems' lines printed into its middle (other CPUs print while it runs)
 *    parses to a prefix of what was printed, never to a payload that was not printed: how many
 *    such dumps lost payloads is counted (`interleavedCutShort`);
 *  - mangled text (cut, spliced, random bytes) gives a well-formed result in bounded time.
 * Names and strings never hold a newline: Xen would print it as a line break, which no parser of
 * its line-based format can undo.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Dump from '../../lib/workflow/debug-dump.js';
import { Rng } from './rng.js';
import { finding, type FuzzContext, type FuzzTarget } from './target.js';

type DebugDump = Dump.DebugDump;
type DumpedPayload = Dump.DumpedPayload;

export interface DumpInput {
  readonly ring: string;
  /** What the last dump of the ring holds, as printed. */
  readonly expected: DebugDump | null;
  /** For a dump with a foreign line in its middle: what the lines before that line hold. */
  readonly beforeForeign: DebugDump | null;
  readonly kind: 'clean' | 'lock-held' | 'interleaved' | 'mangled';
}

const CHARS = [
  'a',
  'z',
  'A',
  '_',
  '0',
  '9',
  ' ',
  '  ',
  '.',
  '-',
  ':',
  ': ',
  '=',
  '(',
  ')',
  '[',
  ']',
  ',',
  '"',
  "'",
  '\t',
  'é',
  '✓',
  'patch',
  ' with ',
  'state=',
  'name=',
  'build-id=',
  'depend-on=',
  'livepatch:',
  ' using 1 pages.',
  '(12)',
  '\\',
  '%s',
  // Pieces of the format itself, so names hold what a too lazy or too greedy pattern would split on.
  ' patch ffff82d040000000(12) with ffff82d040001000 (3)',
  ' state=APPLIED(2) ffff82d040000000 (.data=0, .rodata=0) using 1 pages.',
  ' name=x',
];
const FOREIGN = [
  '(XEN) sched: tick',
  '(d1) guest says hello',
  '(XEN) traps.c:100: fault',
  '(XEN) livepatch: other: Calling pre-apply hook function',
  '(XEN) ',
  '(XEN) *** Serial input to Xen',
];

const hex = (rng: Rng, bytes: number) => Array.from({ length: bytes }, () => rng.below(256).toString(16).padStart(2, '0')).join('');
const ptr = (rng: Rng) => (rng.chance(0.8) ? `ffff82d0${hex(rng, 4)}` : rng.chance(0.5) ? '0000000000000000' : hex(rng, 8));

function text(rng: Rng, min: number, max: number): string {
  let s = '';
  const n = rng.int(min, max);
  for (let i = 0; i < n; i++) s += rng.pick(CHARS);
  return s;
}

function payloadOf(rng: Rng, i: number): DumpedPayload {
  const name = rng.chance(0.5) ? `wf_p${i}` : text(rng, 1, 6) || `p${i}`;
  return {
    name,
    state: rng.chance(0.5) ? 'APPLIED' : 'CHECKED',
    buildId: rng.chance(0.9) ? hex(rng, rng.chance(0.9) ? 20 : rng.int(1, 32)) : null,
    dependsOn: rng.chance(0.7) ? hex(rng, 20) : null,
    dependsOnXen: rng.chance(0.7) ? hex(rng, 20) : null,
    metadata: rng.chance(0.5) ? Array.from({ length: rng.int(1, 3) }, () => text(rng, 0, 5)) : [],
    funcs: Array.from({ length: rng.below(4) }, () => ({
      name: text(rng, 1, 4) || 'f',
      oldAddr: ptr(rng),
      oldSize: rng.below(5000),
      newAddr: ptr(rng),
      newSize: rng.below(5000),
    })),
  };
}

interface Printed {
  readonly line: string;
  /** What the line adds to the dump, for the dump of the lines up to it. */
  readonly add: (d: { xenBuildId: string | null; payloads: DumpedPayload[] }) => void;
}

/** The lines `livepatch_printall` prints for a dump (without the console's `(XEN) ` prefix). */
function printall(rng: Rng, d: DebugDump): Printed[] {
  const out: Printed[] = [{ line: "'x' pressed - Dumping all livepatch patches", add: () => undefined }];
  if (d.xenBuildId !== null) out.push({ line: `build-id: ${d.xenBuildId}`, add: (x) => void (x.xenBuildId = d.xenBuildId) });
  d.payloads.forEach((p, i) => {
    const at = (x: { payloads: DumpedPayload[] }) =>
      x.payloads[i] as { -readonly [K in keyof DumpedPayload]: DumpedPayload[K] } & {
        metadata: string[];
        funcs: DumpedPayload['funcs'][number][];
      };
    out.push({
      line: ` name=${p.name} state=${p.state}(${p.state === 'APPLIED' ? 2 : 1}) ${ptr(rng)} (.data=${ptr(rng)}, .rodata=${ptr(rng)}) using ${rng.int(1, 40)} pages.`,
      add: (x) => void x.payloads.push({ ...p, buildId: null, dependsOn: null, dependsOnXen: null, metadata: [], funcs: [] }),
    });
    if (p.metadata.length) {
      out.push({ line: 'livepatch: module metadata:', add: () => undefined });
      for (const m of p.metadata) out.push({ line: `livepatch:   ${m}`, add: (x) => void at(x).metadata.push(m) });
    }
    for (const f of p.funcs)
      out.push({
        line: `    ${f.name} patch ${f.oldAddr}(${f.oldSize}) with ${f.newAddr} (${f.newSize})`,
        add: (x) => void at(x).funcs.push(f),
      });
    if (p.buildId) out.push({ line: `build-id=${p.buildId}`, add: (x) => void (at(x).buildId = p.buildId) });
    if (p.dependsOn) out.push({ line: `depend-on=${p.dependsOn}`, add: (x) => void (at(x).dependsOn = p.dependsOn) });
    if (p.dependsOnXen) out.push({ line: `depend-on-xen=${p.dependsOnXen}`, add: (x) => void (at(x).dependsOnXen = p.dependsOnXen) });
  });
  return out;
}

/** The dump the first `n` printed lines describe. */
function dumpOf(printed: readonly Printed[], n: number, incomplete: boolean): DebugDump {
  const d = { xenBuildId: null as string | null, payloads: [] as DumpedPayload[] };
  for (const p of printed.slice(0, n)) p.add(d);
  return { ...d, incomplete, truncated: false };
}

const console = (rng: Rng, lines: readonly string[]) =>
  lines.map((l) => `(XEN) ${rng.chance(0.1) ? `[${rng.below(100000)}.${rng.below(1000000)}] ` : ''}${l}\n`).join('');

export class DebugDumpTarget implements FuzzTarget<DumpInput> {
  readonly name = 'debug-dump';
  private parse!: typeof Dump.parseDebugDump;
  private readonly counts = { clean: 0, lockHeld: 0, interleaved: 0, interleavedCutShort: 0, mangled: 0 };

  async setup(ctx: FuzzContext): Promise<void> {
    this.parse = ((await import(pathToFileURL(join(ctx.lib, 'workflow/debug-dump.ts')).href)) as typeof Dump).parseDebugDump;
  }

  generate(seed: number, index: number): DumpInput {
    const rng = new Rng(seed, index);
    const dump: DebugDump = {
      xenBuildId: rng.chance(0.9) ? hex(rng, 20) : null,
      payloads: Array.from({ length: rng.below(7) }, (_, i) => payloadOf(rng, i)),
      incomplete: false,
      truncated: false,
    };
    // An older dump first, sometimes, and other lines before and after.
    let ring = rng.chance(0.3)
      ? console(
          rng,
          printall(rng, { xenBuildId: hex(rng, 20), payloads: [payloadOf(rng, 9)], incomplete: false, truncated: false }).map(
            (p) => p.line,
          ),
        )
      : '';
    if (rng.chance(0.5)) ring += console(rng, [rng.pick(FOREIGN)]);
    const printed = printall(rng, dump);
    const lines = printed.map((p) => p.line);
    const kind = rng.weighted([
      [5, 'clean'],
      [1, 'lock-held'],
      [2, 'interleaved'],
      [2, 'mangled'],
    ] as const);
    if (kind === 'lock-held') {
      // As livepatch_printall gives up: "Lock held" right after the header, before any payload;
      // "Couldn't reacquire lock" after one of a payload's function lines (it lets the lock go
      // every 64 functions), so that payload's build-id lines are never printed and it is lost.
      const afterFunc = lines.flatMap((l, i) => (/^ {4}\S.* patch /.test(l) && !l.startsWith(' name=') ? [i + 1] : []));
      const header = lines.findIndex((l) => l.startsWith(' name='));
      if (afterFunc.length === 0 || rng.chance(0.3)) {
        const at = header < 0 ? lines.length : header;
        ring += console(rng, [...lines.slice(0, at), 'Lock held. Try again.']);
        return { ring, expected: dumpOf(printed, at, true), beforeForeign: null, kind };
      }
      const at = rng.pick(afterFunc);
      ring += console(rng, [...lines.slice(0, at), "Couldn't reacquire lock. Try again."]);
      const cut = dumpOf(printed, at, true);
      return { ring, expected: { ...cut, payloads: cut.payloads.slice(0, -1) }, beforeForeign: null, kind };
    }
    if (kind === 'interleaved') {
      const at = rng.int(1, lines.length);
      ring += console(rng, [...lines.slice(0, at), rng.pick(FOREIGN).replace(/^\(XEN\) /, ''), ...lines.slice(at)]);
      return { ring, expected: dump, beforeForeign: dumpOf(printed, at, false), kind };
    }
    ring += console(rng, lines);
    if (rng.chance(0.3)) ring += console(rng, [rng.pick(FOREIGN).replace(/^\(XEN\) /, '')]);
    if (kind === 'mangled') return { ring: mangle(rng, ring), expected: null, beforeForeign: null, kind };
    return { ring, expected: dump, beforeForeign: null, kind };
  }

  check(input: DumpInput): void {
    const got = this.parse(input.ring);
    if (got !== null) wellFormed(got);
    if (input.kind === 'mangled') {
      this.counts.mangled++;
      return;
    }
    const want = input.expected!;
    if (!got) finding(`no dump found in a ring holding one:\n  ${JSON.stringify(input.ring.slice(0, 1500))}`);
    if (input.kind === 'interleaved') {
      this.counts.interleaved++;
      // Either the whole dump (the foreign line skipped) or what the lines before it hold (the dump
      // taken to end there); never payloads or fields that were not printed.
      const a = JSON.stringify(got);
      if (a === JSON.stringify(want)) return;
      if (a !== JSON.stringify(input.beforeForeign)) {
        finding(
          `a dump with another line in its middle parsed to something that was not printed:\n  got      ${a}\n  printed  ${JSON.stringify(want)}\n  ring ${JSON.stringify(input.ring.slice(0, 1500))}`,
        );
      }
      this.counts.interleavedCutShort++;
      return;
    }
    if (input.kind === 'lock-held') this.counts.lockHeld++;
    else this.counts.clean++;
    const a = JSON.stringify(got);
    const b = JSON.stringify(want);
    if (a !== b)
      finding(
        `parseDebugDump differs from what was printed (${input.kind}):\n  got      ${a}\n  expected ${b}\n  ring ${JSON.stringify(input.ring.slice(0, 1500))}`,
      );
  }

  save(input: DumpInput): { ext: string; data: string } {
    return { ext: 'txt', data: input.ring };
  }

  stats(): Record<string, number> {
    return { ...this.counts };
  }
}

function wellFormed(d: DebugDump): void {
  const isHex = (v: string | null) => v === null || /^[0-9a-f]+$/.test(v);
  if (!isHex(d.xenBuildId)) finding(`xenBuildId ${JSON.stringify(d.xenBuildId)} is not hex`);
  for (const p of d.payloads) {
    if (p.state !== 'APPLIED' && p.state !== 'CHECKED') finding(`payload ${JSON.stringify(p.name)} has state ${String(p.state)}`);
    if (!isHex(p.buildId) || !isHex(p.dependsOn) || !isHex(p.dependsOnXen))
      finding(`payload ${JSON.stringify(p.name)} has a build-id that is not hex`);
    if (p.name.includes('\n')) finding(`payload name ${JSON.stringify(p.name)} spans lines`);
    for (const f of p.funcs)
      if (!Number.isSafeInteger(f.oldSize) || !Number.isSafeInteger(f.newSize))
        finding(`function ${JSON.stringify(f.name)} has a size that is not an integer`);
  }
}

function mangle(rng: Rng, ring: string): string {
  let t = ring;
  for (let i = rng.int(1, 4); i > 0; i--) {
    const at = rng.below(t.length + 1);
    switch (rng.below(4)) {
      case 0:
        t = t.slice(0, at);
        break;
      case 1:
        t = t.slice(at);
        break;
      case 2:
        t = t.slice(0, at) + t.slice(rng.below(t.length + 1));
        break;
      default:
        t = `${t.slice(0, at)}${String.fromCharCode(rng.below(0x3000))}${'9'.repeat(rng.below(400))}${t.slice(at + 1)}`;
        break;
    }
  }
  return t;
}

export default (): FuzzTarget => new DebugDumpTarget() as FuzzTarget;
