/**
 * Fuzz target `console`: the hypervisor's livepatch console lines (lib/workflow/console-events.ts).
 * Three out of four inputs are rings written the way Xen writes them: events of several payloads,
 * printed with the mock's copies of Xen's printk formats (lib/mock/messages.ts) through its console
 * model, among lines of other subsystems. The oracle is exact: `eventsFor(ring, name)` must return
 * every event printed about `name`, in order, with its fields, and nothing else, for every name
 * that no other line could be mistaken for (a name `n` is ambiguous when some other line's text
 * starts with `n: ` or `n finished `: Xen's format cannot tell those apart, so such names are only
 * checked for well-formed results). The other inputs are mangled text (cut, spliced, random), for
 * which the results must be well formed, about the name asked for, and come in bounded time.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Events from '../../lib/workflow/console-events.js';
import type * as Messages from '../../lib/mock/messages.js';
import type * as Printk from '../../lib/mock/printk.js';
import type * as Ring from '../../lib/mock/console-ring.js';
import { Rng } from './rng.js';
import { finding, type FuzzContext, type FuzzTarget } from './target.js';

type ConsoleEvent = Events.ConsoleEvent;

interface Lib {
  eventsFor: typeof Events.eventsFor;
  consoleLines: typeof Events.consoleLines;
  msg: typeof Messages.msg;
  XenConsole: typeof Printk.XenConsole;
  parseLoglvl: typeof Printk.parseLoglvl;
  ConsoleRing: typeof Ring.ConsoleRing;
}

export interface ConsoleInput {
  readonly ring: string;
  readonly names: readonly string[];
  /** The events printed about each name, in order (null: mangled text, no exact expectation). */
  readonly expected: ReadonlyMap<string, readonly ConsoleEvent[]> | null;
}

const PIECES = [
  'a',
  'b',
  'wf',
  '_',
  '-',
  '.',
  ' ',
  ':',
  ': ',
  '(',
  ')',
  '[',
  ']',
  '=',
  ',',
  '!',
  "'",
  '"',
  '$',
  'é',
  '✓',
  '名',
  '0',
  '1',
  'rc',
  'hook',
  'finished',
  'APPLY',
  'Top is',
  'build-id',
  'state=',
  'name=',
  'livepatch',
  'with rc=-1',
];
const FUNCS = ['fn_a', 'fn_b', 'xen_extra_version', 'do_domctl'];
const HOOKS = ['preapply', 'postapply', 'prerevert', 'postrevert', 'apply', 'revert'] as const;
const RCS = [0, -1, -11, -13, -16, -22, -95, 1, 7, -2147483648, 2147483647];
const NOISE = [
  'Xen version 4.17.7 (Debian 4.17.7+37-g1d8d7e0b6e-1)',
  'sched: credit2',
  "'x' pressed - Dumping all livepatch patches",
  'build-id: 0123456789abcdef0123456789abcdef01234567',
  ' name=other state=CHECKED(1) ffff82d040a00000 (.data=ffff82d040a01000, .rodata=ffff82d040a02000) using 3 pages.',
  'livepatch: module metadata:',
  'livepatch:   LIVEPATCH_RULEZ=1',
  'traps.c:1234: d0v0 fault',
];

function nameOf(rng: Rng): string {
  if (rng.chance(0.3)) return `wf_${rng.pick(['base', 'data', 'guarded', 'cumulative'])}${rng.chance(0.3) ? rng.below(10) : ''}`;
  let s = '';
  const n = rng.int(1, 5);
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  s = s.trim() || 'p';
  // Xen keeps at most 127 bytes of a name.
  while (Buffer.byteLength(s) > 127) s = s.slice(0, -1);
  return s;
}

export class ConsoleTarget implements FuzzTarget<ConsoleInput> {
  readonly name = 'console';
  private lib!: Lib;
  private readonly counts = { exact: 0, ambiguousNames: 0, mangled: 0, events: 0 };

  async setup(ctx: FuzzContext): Promise<void> {
    const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(ctx.lib, rel)).href)) as T;
    const events = await load<typeof Events>('workflow/console-events.ts');
    const messages = await load<typeof Messages>('mock/messages.ts');
    const printk = await load<typeof Printk>('mock/printk.ts');
    const ring = await load<typeof Ring>('mock/console-ring.ts');
    this.lib = {
      eventsFor: events.eventsFor,
      consoleLines: events.consoleLines,
      msg: messages.msg,
      XenConsole: printk.XenConsole,
      parseLoglvl: printk.parseLoglvl,
      ConsoleRing: ring.ConsoleRing,
    };
  }

  generate(seed: number, index: number): ConsoleInput {
    const rng = new Rng(seed, index);
    const names = [...new Set(Array.from({ length: rng.int(1, 4) }, () => nameOf(rng)))];
    const expected = new Map<string, ConsoleEvent[]>(names.map((n) => [n, []]));
    const { msg } = this.lib;
    const ring = new this.lib.ConsoleRing(1 << 20);
    const xen = new this.lib.XenConsole(ring, this.lib.parseLoglvl('all'));
    const count = rng.int(1, 14);
    for (let k = 0; k < count; k++) {
      if (rng.chance(0.2)) {
        xen.printk(`${rng.pick(NOISE)}\n`);
        continue;
      }
      const p = rng.pick(names);
      const other = rng.pick(names);
      const rc = rng.pick(RCS);
      const out = expected.get(p)!;
      const print = (text: string, event: ConsoleEvent | null) => {
        xen.printk(text);
        if (event) out.push(event);
      };
      // What follows "livepatch: <name>: " in a message (after its level marker).
      const rest = (text: string) => text.slice(text.indexOf('livepatch: ') + 'livepatch: '.length + p.length + 2).replace(/\n$/, '');
      switch (rng.below(19)) {
        case 0: {
          const hook = rng.pick(HOOKS);
          const text =
            hook === 'preapply'
              ? msg.callingPreApply(p)
              : hook === 'prerevert'
                ? msg.callingPreRevert(p)
                : hook === 'apply'
                  ? msg.callingApplyAction(p)
                  : hook === 'revert'
                    ? msg.callingRevertAction(p)
                    : hook === 'postapply'
                      ? msg.callingPostApply(p, rc)
                      : msg.callingPostRevert(p, rc);
          print(
            text,
            hook === 'postapply' || hook === 'postrevert'
              ? { kind: 'hook-call', payload: p, hook, rc }
              : { kind: 'hook-call', payload: p, hook },
          );
          break;
        }
        case 1:
          print(msg.preApplyFailed(p, rc), { kind: 'hook-veto', payload: p, hook: 'preapply', rc });
          break;
        case 2:
          print(msg.preRevertFailed(p, rc), { kind: 'hook-veto', payload: p, hook: 'prerevert', rc });
          break;
        case 3: {
          const against = rng.chance(0.5) ? 'hypervisor' : other;
          print(msg.buildIdDepFailed(p, against), { kind: 'dependency-failed', payload: p, against });
          break;
        }
        case 4:
          print(msg.cantUnloadTop(p, other), { kind: 'not-top', payload: p, top: other });
          break;
        case 5:
          print(msg.cantReapply(p), { kind: 'not-reapplyable', payload: p });
          break;
        case 6:
          print(msg.replaceVetoing(p), { kind: 'replace-vetoing-hooks', payload: p });
          break;
        case 7: {
          const t = msg.expectationsOfFailed(p, rng.pick(FUNCS), rc);
          print(t, { kind: 'expectation-failed', payload: p, detail: rest(t) });
          break;
        }
        case 8: {
          const t = msg.systemMightBeInsecure(p);
          print(t, { kind: 'expectation-failed', payload: p, detail: rest(t) });
          break;
        }
        case 9: {
          const t = msg.timedOut(p, rng.pick(['CPU', 'IRQ'] as const), rng.below(4), rng.int(1, 8));
          print(t, { kind: 'quiesce-timeout', payload: p, detail: rest(t) });
          break;
        }
        case 10:
          print(msg.verifyingExpectations(p), { kind: 'info', payload: p, text: 'Verifying enabled expectations for all functions' });
          break;
        case 11: {
          const n = rng.below(300);
          print(msg.applying(p, n), { kind: 'info', payload: p, text: `Applying ${n} functions` });
          break;
        }
        case 12:
          print(msg.reverting(p), { kind: 'info', payload: p, text: 'Reverting' });
          break;
        case 13: {
          const action = rng.pick(['APPLY', 'REVERT', 'REPLACE'] as const);
          print(msg.finished(p, action, rc), { kind: 'finished', payload: p, action, rc });
          break;
        }
        case 14: {
          const t = msg.safetyCheckFailed(p, rc);
          print(t, { kind: 'other', payload: p, text: rest(t) });
          break;
        }
        case 15: {
          const t = msg.inconsistent(p, rng.pick(FUNCS));
          print(t, { kind: 'other', payload: p, text: rest(t) });
          break;
        }
        case 16:
          // Lines about functions, not payloads: nothing for any payload name.
          print(rng.chance(0.5) ? msg.expectationFailed(rng.pick(FUNCS), '0f0b', '9090') : msg.alreadyApplied(rng.pick(FUNCS)), null);
          break;
        case 17:
          print(msg.metadataLine(`${p}=${rng.below(9)}`), null);
          break;
        default: {
          // One line printed by two printk calls: it is only complete after the second.
          const t = msg.reverting(p);
          const cut = rng.int(1, t.length - 1);
          xen.printk(t.slice(0, cut));
          xen.printk(t.slice(cut));
          out.push({ kind: 'info', payload: p, text: 'Reverting' });
          break;
        }
      }
    }
    let text = ring.read().text;
    if (rng.chance(0.25)) {
      // Mangled: cut, spliced, or bytes replaced; no exact expectation any more.
      text = mangle(rng, text);
      return { ring: text, names, expected: null };
    }
    return { ring: text, names, expected };
  }

  check(input: ConsoleInput): void {
    for (const name of input.names) {
      const got = this.lib.eventsFor(input.ring, name);
      for (const { line, event } of got) {
        if (event.payload !== name) finding(`an event for ${JSON.stringify(name)} names ${JSON.stringify(event.payload)}: ${line}`);
        if (!input.ring.includes(line)) finding(`the line of an event is not in the ring: ${JSON.stringify(line)}`);
        if ('rc' in event && event.rc !== undefined && !Number.isSafeInteger(event.rc))
          finding(`rc ${event.rc} is not an integer: ${line}`);
      }
      this.counts.events += got.length;
      if (!input.expected) continue;
      // Another payload's line that reads as this one's too: Xen's format cannot tell them apart.
      if (input.names.some((n) => n !== name && readsAs(n, name))) {
        this.counts.ambiguousNames++;
        continue;
      }
      const want = input.expected.get(name)!;
      const gotEvents = got.map((g) => g.event);
      const a = JSON.stringify(gotEvents);
      const b = JSON.stringify(want);
      if (a !== b)
        finding(
          `eventsFor(ring, ${JSON.stringify(name)}) differs from what was printed:\n  got      ${a}\n  expected ${b}\n  ring ${JSON.stringify(input.ring.slice(0, 2000))}`,
        );
      this.counts.exact++;
    }
    if (!input.expected) this.counts.mangled++;
  }

  save(input: ConsoleInput): { ext: string; data: string } {
    return { ext: 'txt', data: `# names: ${JSON.stringify(input.names)}\n${input.ring}` };
  }

  stats(): Record<string, number> {
    return { ...this.counts };
  }
}

/**
 * Whether a line about payload `other` can read as one about `name`: its text starts with `other: `
 * or `other finished `, and this one's with `name: ` or `name finished `. Either may be the longer
 * (`0:` + ` finished APPLY` reads as `0` + `: finished APPLY`), so a prefix either way is ambiguous.
 */
export function readsAs(other: string, name: string): boolean {
  for (const theirs of [`${other}: `, `${other} finished `]) {
    for (const ours of [`${name}: `, `${name} finished `]) {
      if (theirs.startsWith(ours) || ours.startsWith(theirs)) return true;
    }
  }
  return false;
}

function mangle(rng: Rng, text: string): string {
  let t = text;
  const edits = rng.int(1, 4);
  for (let i = 0; i < edits; i++) {
    const at = rng.below(t.length + 1);
    switch (rng.below(5)) {
      case 0:
        t = t.slice(0, at); // cut short (an incomplete last line)
        break;
      case 1:
        t = t.slice(at); // the ring wrapped: the first line starts mid-way
        break;
      case 2:
        t = t.slice(0, at) + t.slice(rng.below(t.length + 1)); // spliced
        break;
      case 3:
        t = `${t.slice(0, at)}${String.fromCharCode(rng.below(0x3000))}${t.slice(at + 1)}`;
        break;
      default:
        t = `${t.slice(0, at)}${'livepatch: '.repeat(rng.int(1, 3))}${'a: '.repeat(rng.below(200))}${t.slice(at)}`;
        break;
    }
  }
  return t;
}

export default (): FuzzTarget => new ConsoleTarget() as FuzzTarget;
