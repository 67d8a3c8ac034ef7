/**
 * The release addon (node-gyp, the build prebuildify ships) never links libxenctrl, exports
 * nothing but Node's entry points, and needs no glibc newer than 2.34 (dlopen@GLIBC_2.34).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectHygienic } from '../support/elf.js';
import { RELEASE_ADDON } from '../support/paths.js';

describe('binary hygiene of the release addon', () => {
  it('has no Xen library among its NEEDED entries, no xc_ symbol at all, and a glibc floor of 2.34 at most', () => {
    expect(existsSync(RELEASE_ADDON), `${RELEASE_ADDON} is missing: npm ci (or npm run build:native) builds it`).toBe(true);
    const floor = expectHygienic(RELEASE_ADDON);
    console.log(`${RELEASE_ADDON}: needs GLIBC ${floor.glibc}, GLIBCXX ${floor.glibcxx ?? 'none'}`);
  });
});
