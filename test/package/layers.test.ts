/**
 * The folders of lib/ are layers (README, "Architecture"): every import between two folders points
 * down, the arrows the design rules out never appear, and the CLI uses the other folders only
 * through their entries (index.ts). Read from the sources, so a new import that cuts across the
 * layers fails here, not in review.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = resolve(import.meta.dirname, '../../lib');

/** Bottom (0) to top: a folder may import only folders of a lower rank. */
const RANK: Readonly<Record<string, number>> = {
  elf: 0,
  xen: 0,
  fs: 0,
  payload: 1,
  backend: 1,
  preflight: 2,
  native: 2,
  mock: 3,
  host: 3,
  workflow: 4,
  parity: 4,
  cli: 5,
};

/** Arrows the design names as never (some already follow from the ranks; kept for their reasons). */
const NEVER: readonly [string, string, string][] = [
  ['elf', 'payload', 'the reader knows no livepatch'],
  ['payload', 'preflight', 'the model is below the rules'],
  ['payload', 'backend', 'the model is pure data'],
  ['preflight', 'workflow', 'rules do not act'],
  ['preflight', 'backend', 'rules get their context handed in'],
  ['preflight', 'native', 'rules never open the host'],
  ['preflight', 'host', 'rules get their context handed in'],
  ['mock', 'workflow', 'the simulator is below the workflows'],
  ['mock', 'parity', 'the simulator does not ship its test kit'],
  ['mock', 'native', 'the simulator never touches the addon'],
  ['workflow', 'cli', 'the library knows no terminal'],
  ['backend', 'mock', 'the interface does not know its fakes'],
  ['elf', 'backend', 'parsing needs no hypervisor'],
];

interface Import {
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly target: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import (static, `export ... from`, dynamic with a literal) between two folders of lib/. */
function crossImports(): Import[] {
  const out: Import[] = [];
  for (const path of sources(LIB)) {
    const file = relative(LIB, path);
    const from = file.split('/')[0]!;
    if (!(from in RANK)) continue; // lib/index.ts, the package entry, sits above everything
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
      const target = relative(LIB, resolve(dirname(path), m[1]!));
      const to = target.split('/')[0]!;
      if (to !== from) out.push({ file, from, to, target });
    }
  }
  return out;
}

const imports = crossImports();
const show = (i: Import) => `${i.file} -> ${i.target}`;

describe('the layers of lib/', () => {
  it('reads the imports it judges (the check cannot pass by finding none)', () => {
    expect(imports.length).toBeGreaterThan(100);
    expect(imports.some((i) => i.from === 'cli' && i.to === 'workflow')).toBe(true);
    expect(Object.keys(RANK).sort()).toEqual(readdirSync(LIB).filter((f) => statSync(join(LIB, f)).isDirectory()).sort());
  });

  it('every arrow between folders points down', () => {
    const up = imports.filter((i) => !(i.to in RANK) || RANK[i.to]! >= RANK[i.from]!);
    expect(up.map(show)).toEqual([]);
  });

  it.each(NEVER)('never %s -> %s (%s)', (from, to) => {
    expect(imports.filter((i) => i.from === from && i.to === to).map(show)).toEqual([]);
  });

  it("the CLI imports other folders' entries only", () => {
    const internal = imports.filter((i) => i.from === 'cli' && !/^[a-z]+\/index\.js$/.test(i.target));
    expect(internal.map(show)).toEqual([]);
  });
});
