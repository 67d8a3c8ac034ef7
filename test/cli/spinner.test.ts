/** The terminal spinner: at most ~10 redraws a second however often a wait reports progress. */
import { describe, expect, it } from 'vitest';
import { Spinner } from '../../lib/cli/spinner.js';

describe('Spinner', () => {
  it('redraws at most ten times a second while its text changes on every poll', async () => {
    const writes: string[] = [];
    const spinner = new Spinner({ write: (t: string) => writes.push(t) });
    const started = performance.now();
    // A wait polling every millisecond for half a second, each poll updating the text.
    let polls = 0;
    while (performance.now() - started < 500) {
      spinner.update(`waiting for APPLY of p (${polls++} ms)`);
      await new Promise((r) => setTimeout(r, 1));
    }
    spinner.stop();
    const elapsed = performance.now() - started;
    expect(polls).toBeGreaterThan(50);
    // The first draw, one per 100 ms, and the clearing line at stop.
    expect(writes.length).toBeLessThanOrEqual(2 + Math.ceil(elapsed / Spinner.INTERVAL_MS));
    // The latest text is what is shown.
    expect(writes.at(-2)).toMatch(/waiting for APPLY of p \(\d+ ms\)$/);
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });
});
