/**
 * The ids that tell one temporary file or lock acquisition of a process apart from another: exactly
 * as many hex digits as asked (names built from them have a known length and alphabet), and not
 * repeated.
 */
import { describe, expect, it } from 'vitest';
import { uniqueId } from '../../lib/fs/unique-id.js';

describe('uniqueId', () => {
  it('gives exactly the number of hex digits asked for, from 1 to 32', () => {
    for (let n = 1; n <= 32; n++) {
      for (let i = 0; i < 20; i++) expect(uniqueId(n)).toMatch(new RegExp(`^[0-9a-f]{${n}}$`));
    }
  });

  it('does not repeat itself', () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => uniqueId(16)));
    expect(seen.size).toBe(10_000);
  });
});
