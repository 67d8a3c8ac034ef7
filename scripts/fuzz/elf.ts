/**
 * Fuzz target `elf`: targeted mutations of every payload fixture (test/properties/targeted.ts)
 * through readElf, readPayload and preflight. Oracles, beyond "no exception and a well-formed
 * report in linear work":
 *  - bytes no rule reads: every TRACE_EVERY-th input (XLP_FUZZ_TRACE_EVERY, default 4) runs
 *    with the byte reads recorded; then bytes nothing read are changed, and the whole result must
 *    stay the same (a difference means a read that bypasses the reader, or a result that depends
 *    on something other than the file);
 *  - readelf: every READELF_EVERY-th input (XLP_FUZZ_READELF_EVERY, default 16) that the reader
 *    finds valid (no issue, nothing readelf prints in a notation of its own) is compared with
 *    `readelf -W -S -s -r`: sections, symbols and relocations must agree field by field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixtures } from '../../test/fixtures/catalogue.js';
import { compareWithReadelf } from '../../test/helpers/readelf-compare.js';
import { assertWellFormed, optionsFor } from '../../test/properties/mutations.js';
import {
  applyEdits,
  describeInput,
  generateTargeted,
  type TargetedFixture,
  targetedFixture,
  type TargetedInput,
} from '../../test/properties/targeted.js';
import type * as Bytes from '../../lib/elf/bytes.js';
import type * as Elf from '../../lib/elf/index.js';
import type * as Payload from '../../lib/payload/index.js';
import type * as Preflight from '../../lib/preflight/index.js';
import { Rng } from './rng.js';
import { finding, type FuzzContext, type FuzzTarget } from './target.js';

const UNITS_PER_BYTE = 128;
const UNITS_FLOOR = 20_000;
const TRACE_EVERY = Number(process.env.XLP_FUZZ_TRACE_EVERY ?? 4);
const READELF_EVERY = Number(process.env.XLP_FUZZ_READELF_EVERY ?? 16);
/** Bytes changed per unread-bytes check. */
const UNREAD_EDITS = 4;

interface Lib {
  readElf: typeof Elf.readElf;
  readWork: typeof Bytes.readWork;
  ByteReader: typeof Bytes.ByteReader;
  readPayload: typeof Payload.readPayload;
  preflight: typeof Preflight.preflight;
}

export interface ElfInput {
  readonly index: number;
  readonly input: TargetedInput;
  readonly bytes: Buffer;
}

/** Marks every byte read through the lib's ByteReader while `marks` is set. */
class ReadTracer {
  marks: Uint8Array | null = null;

  constructor(ByteReader: Lib['ByteReader']) {
    const proto = ByteReader.prototype as unknown as Record<string, (...a: number[]) => unknown>;
    const tracer = this;
    const mark = (start: number, length: number) => {
      const m = tracer.marks;
      if (m && length > 0) m.fill(1, Math.max(0, start), Math.min(m.length, start + length));
    };
    const wrap = (name: string, range: (a: number[], result: unknown) => [number, number]) => {
      const original = proto[name]!;
      proto[name] = function (this: unknown, ...a: number[]) {
        const result = original.apply(this, a);
        if (tracer.marks) mark(...range(a, result));
        return result;
      };
    };
    for (const [name, width] of [
      ['u8', 1],
      ['u16', 2],
      ['u32', 4],
      ['i32', 4],
      ['u64', 8],
      ['i64', 8],
      ['u64n', 8],
    ] as const)
      wrap(name, (a) => [a[0]!, width]);
    wrap('latin1', (a) => [a[0]!, a[1]! - a[0]!]);
    // A C string is read up to its NUL (or the end of the range when it has none).
    wrap('cString', (a, result) => [a[0]!, typeof result === 'string' ? result.length + 1 : a[1]! - a[0]!]);
    wrap('words', (a) => [a[0]!, 4 * a[1]!]);
    // A slice may be read anywhere by its caller.
    wrap('slice', (a) => [a[0]!, a[1]!]);
  }
}

export class ElfTarget implements FuzzTarget<ElfInput> {
  readonly name = 'elf';
  private lib!: Lib;
  private tracer!: ReadTracer;
  protected fixtures: TargetedFixture[] = [];
  private byName = new Map<string, TargetedFixture>();
  private scratch = '';
  private readonly counts = { inputs: 0, valid: 0, unreadChecks: 0, readelfCompared: 0, readelfSkipped: 0 };

  async setup(ctx: FuzzContext): Promise<void> {
    const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(ctx.lib, rel)).href)) as T;
    const elf = await load<typeof Elf>('elf/index.ts');
    const bytes = await load<typeof Bytes>('elf/bytes.ts');
    const payload = await load<typeof Payload>('payload/index.ts');
    const preflight = await load<typeof Preflight>('preflight/index.ts');
    this.lib = {
      readElf: elf.readElf,
      readWork: bytes.readWork,
      ByteReader: bytes.ByteReader,
      readPayload: payload.readPayload,
      preflight: preflight.preflight,
    };
    this.tracer = new ReadTracer(bytes.ByteReader);
    for (const [name, f] of await fixtures()) {
      const t = targetedFixture(name, f.bytes);
      this.fixtures.push(t);
      this.byName.set(name, t);
    }
    this.scratch = ctx.scratch;
  }

  generate(seed: number, index: number): ElfInput {
    const input = this.mutate(new Rng(seed, index), this.fixtures);
    return { index, input, bytes: applyEdits(this.byName.get(input.fixture)!.bytes, input) };
  }

  /** The mutation strategy (elf-untargeted.ts swaps it for the blind one, for comparison). */
  protected mutate(rng: Rng, fixtures: readonly TargetedFixture[]): TargetedInput {
    return generateTargeted(rng, fixtures);
  }

  /** Everything the project reads from a payload, as one comparable value (when `compare`). */
  private verdict(input: TargetedInput, bytes: Uint8Array, compare: boolean): string {
    const { readElf, readPayload, preflight, readWork } = this.lib;
    readWork.units = 0;
    const { issues } = readElf(bytes);
    const model = readPayload(bytes);
    if (model.payload) void model.payload.symbols.length;
    const report = preflight(bytes, optionsFor(input));
    assertWellFormed(report);
    if (readWork.units > UNITS_PER_BYTE * bytes.length + UNITS_FLOOR)
      finding(`superlinear work: ${readWork.units} read units for ${bytes.length} bytes`);
    if (!compare) return '';
    return JSON.stringify({ issues, report }, (_k, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
    );
  }

  check(e: ElfInput): void {
    this.counts.inputs++;
    const traced = e.index % TRACE_EVERY === 0;
    const marks = traced ? new Uint8Array(e.bytes.length) : null;
    this.tracer.marks = marks;
    let before: string;
    try {
      before = this.verdict(e.input, e.bytes, traced);
    } catch (error) {
      this.tracer.marks = null;
      if (error instanceof Error && error.name === 'FuzzFinding') throw error;
      finding(`${describeInput(e.input)}\n  threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    this.tracer.marks = null;
    if (marks) this.checkUnreadBytes(e, marks, before);
    if (e.index % READELF_EVERY === 0) this.checkReadelf(e);
  }

  /** Bytes nothing read can change nothing. */
  private checkUnreadBytes(e: ElfInput, marks: Uint8Array, before: string): void {
    // String tables are searched through the raw buffer (for their last NUL): count them as read.
    const { elf } = this.lib.readElf(e.bytes);
    for (const s of elf?.sections ?? []) {
      if (s.type === 3 && s.offset + s.size <= BigInt(e.bytes.length)) marks.fill(1, Number(s.offset), Number(s.offset + s.size));
    }
    const unread: number[] = [];
    for (let i = 0; i < marks.length; i++) if (!marks[i]) unread.push(i);
    if (unread.length === 0) return;
    const rng = new Rng(e.index, 0x5eed);
    const changed = Buffer.from(e.bytes);
    const at: number[] = [];
    for (let k = 0; k < UNREAD_EDITS; k++) {
      const i = rng.pick(unread);
      changed[i] = changed[i]! ^ (1 + rng.below(255));
      at.push(i);
    }
    this.counts.unreadChecks++;
    const after = this.verdict(e.input, changed, true);
    if (after !== before) {
      finding(
        `${describeInput(e.input)}\n  changing bytes no rule read (${at.join(', ')}) changed the result:\n  before ${before.slice(0, 400)}\n  after  ${after.slice(0, 400)}`,
      );
    }
  }

  private checkReadelf(e: ElfInput): void {
    const { elf } = this.lib.readElf(e.bytes);
    if (!elf || elf.issues.length) return;
    this.counts.valid++;
    const path = join(this.scratch, 'mutant.o');
    writeFileSync(path, e.bytes);
    const r = compareWithReadelf(elf as unknown as Parameters<typeof compareWithReadelf>[0], path);
    if (!r.comparable) {
      this.counts.readelfSkipped++;
      return;
    }
    this.counts.readelfCompared++;
    if (r.differences.length)
      finding(`${describeInput(e.input)}\n  the reader and readelf disagree:\n  ${r.differences.slice(0, 10).join('\n  ')}`);
  }

  save(e: ElfInput): { ext: string; data: Uint8Array } {
    return { ext: 'livepatch', data: e.bytes };
  }

  stats(): Record<string, number> {
    return { ...this.counts };
  }
}

export default (): FuzzTarget => new ElfTarget() as FuzzTarget;
