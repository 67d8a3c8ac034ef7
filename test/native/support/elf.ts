/** What binutils says about a built addon: its NEEDED libraries, dynamic symbols, glibc floor. */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';

export function neededLibraries(file: string): string[] {
  const out = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

export interface DynamicSymbols {
  readonly defined: string[];
  readonly undefined: string[];
}

export function dynamicSymbols(file: string): DynamicSymbols {
  const out = execFileSync('nm', ['-D', file], { encoding: 'utf8' });
  const defined: string[] = [];
  const undef: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$/.exec(line);
    if (!m) continue;
    (m[1] === 'U' || m[1] === 'w' ? undef : defined).push(m[2]!.replace(/@.*/, ''));
  }
  return { defined, undefined: undef };
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest GLIBC_x.y and GLIBCXX_x.y.z versions the file's imports need. */
export function versionFloor(file: string): { glibc: string | null; glibcxx: string | null } {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  const newest = (prefix: string): string | null => {
    const versions = [...out.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]!);
    return versions.sort(compareVersions).pop() ?? null;
  };
  return { glibc: newest('GLIBC'), glibcxx: newest('GLIBCXX') };
}

/**
 * The checks every shipped .node must pass: no Xen library among its NEEDED entries (libxenctrl
 * is dlopen'ed), no xc_ symbol at all (a mangled one would mean xenctrl.h was included without
 * extern "C"), only Node's entry points exported, and no glibc newer than 2.34.
 */
export function expectHygienic(file: string): { glibc: string | null; glibcxx: string | null } {
  const needed = neededLibraries(file);
  expect(needed.length).toBeGreaterThan(0);
  expect(needed.filter((lib) => /xen/i.test(lib))).toEqual([]);

  const symbols = dynamicSymbols(file);
  expect([...symbols.defined, ...symbols.undefined].filter((s) => s.includes('xc_'))).toEqual([]);
  expect(symbols.undefined.filter((s) => /^_Z.*xc_/.test(s))).toEqual([]);
  expect(symbols.defined.sort()).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  // The N-API symbols it needs stay undefined: Node provides them.
  expect(symbols.undefined).toContain('napi_create_promise');
  expect(symbols.undefined).toContain('dlopen');

  const floor = versionFloor(file);
  expect(floor.glibc).not.toBeNull();
  expect(compareVersions(floor.glibc!, '2.34')).toBeLessThanOrEqual(0);
  return floor;
}
