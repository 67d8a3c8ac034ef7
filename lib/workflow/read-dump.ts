import type { Backend } from '../backend/backend.js';
import type { ConsoleWatcher } from './console-watcher.js';
import { type DebugDump, parseDebugDump, parseDumpTail } from './debug-dump.js';

/**
 * Pressing debug key `x` and reading the dump back from the console ring.
 *
 * Xen runs the key's handler inside the `XEN_SYSCTL_debug_keys` hypercall (a key sent by sysctl is
 * not in interrupt context, so it is not deferred to a tasklet) and printk writes the ring
 * synchronously: once `sendDebugKeys` returns, the whole dump is in the ring, or as much of it as
 * the ring keeps. So there is nothing to wait for: one read tells whether the dump fitted.
 */

/** What came of pressing `x`. */
export type DumpReading =
  /** The whole dump, header included. */
  | { readonly outcome: 'complete'; readonly dump: DebugDump }
  /** The ring overwrote the dump's beginning; `dump` holds the blocks that survived whole, if any. */
  | { readonly outcome: 'truncated'; readonly dump: DebugDump | null; readonly bytes: number }
  /** Xen's payload lock stayed taken (an action was running) on every try; `dump` holds what was printed. */
  | { readonly outcome: 'lock-held'; readonly dump: DebugDump | null }
  /** The key could not be sent or the console not read (XSM may deny either). */
  | { readonly outcome: 'unavailable'; readonly reason: string };

const DUMP_ATTEMPTS = 3;
/** Reads tolerated before concluding that nothing answered (a console that lags behind the key). */
const EMPTY_READS = 3;

/**
 * Presses `x` and reads the dump. Xen prints "Lock held. Try again." instead of (part of) the dump
 * when its payload lock is taken (an action is running): that is asked again, a few times.
 */
export async function readDebugDump(backend: Backend, console: ConsoleWatcher): Promise<DumpReading> {
  for (let attempt = 1; ; attempt++) {
    const reading = await readOnce(backend, console);
    if (reading.outcome !== 'lock-held' || attempt >= DUMP_ATTEMPTS) return reading;
    await new Promise((r) => setTimeout(r, 10 * attempt));
  }
}

async function readOnce(backend: Backend, console: ConsoleWatcher): Promise<DumpReading> {
  await console.sync();
  if (!console.available) return { outcome: 'unavailable', reason: 'the hypervisor console cannot be read' };
  try {
    await backend.sendDebugKeys('x');
  } catch (error) {
    return {
      outcome: 'unavailable',
      reason: `debug key 'x' could not be sent (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  let text = '';
  for (let empty = 0; !text && empty < EMPTY_READS; empty++) {
    if (empty) await new Promise((r) => setTimeout(r, empty));
    const lines = await console.read();
    if (!console.available) return { outcome: 'unavailable', reason: 'the hypervisor console cannot be read' };
    if (lines.length) text = `${lines.join('\n')}\n`;
  }
  const dump = parseDebugDump(text);
  if (dump) return dump.incomplete ? { outcome: 'lock-held', dump } : { outcome: 'complete', dump };
  if (!text) return { outcome: 'unavailable', reason: "the hypervisor printed nothing for debug key 'x'" };
  const tail = parseDumpTail(text);
  return { outcome: 'truncated', dump: tail, bytes: Buffer.byteLength(text) };
}
