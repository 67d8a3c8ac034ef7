/**
 * The guest suite of `npm run test:xen` runs in dom0 against the installed package, not against
 * lib/: its modules are transpiled with their imports rewritten (scripts/xen-vm/suite/transpile.ts).
 * Checked here without Xen: every import lands on something dom0 has, and every module of the
 * package it names exists in the package's dist/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GUEST_PACKAGE_DIR, transpileGuest } from '../../scripts/xen-vm/suite/transpile.js';

const ROOT = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'xlp-guest-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the guest suite as dom0 gets it', () => {
  const files = transpileGuest(out);

  it('has a main module and no TypeScript left', () => {
    expect(files.map((f) => f.slice(out.length + 1))).toContain('main.mjs');
    for (const f of files) expect(readFileSync(f, 'utf8')).not.toMatch(/^import type /m);
  });

  it('imports only node, the package (public entry points or its dist/), the harness protocol and itself', () => {
    const package_ = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    for (const f of files) {
      const specs = [...readFileSync(f, 'utf8').matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      expect(specs.length).toBeGreaterThan(0);
      for (const spec of specs) {
        if (spec.startsWith('node:') || spec === '/usr/lib/xlp-harness/guest.mjs') continue;
        if (spec.startsWith('./')) {
          expect(existsSync(join(out, spec.slice(2))), `${f}: ${spec}`).toBe(true);
        } else if (spec === 'xen-livepatch' || spec.startsWith('xen-livepatch/')) {
          expect(Object.keys(package_.exports), `${f}: ${spec}`).toContain(
            spec === 'xen-livepatch' ? '.' : `./${spec.slice('xen-livepatch/'.length)}`,
          );
        } else if (spec.startsWith(`${GUEST_PACKAGE_DIR}/dist/`)) {
          // npm test compiles dist/ first; the package ships dist/ whole.
          expect(existsSync(join(ROOT, 'dist', spec.slice(`${GUEST_PACKAGE_DIR}/dist/`.length))), `${f}: ${spec}`).toBe(true);
        } else {
          throw new Error(`${f} imports ${spec}, which dom0 does not have`);
        }
      }
    }
  });
});
