/**
 * What `npm pack` ships: the licence package.json names, the docs `xlp --help` points at, source
 * maps that need no unshipped file, and no install script (the addon ships prebuilt), so npm 11's
 * allowScripts policy has nothing to warn about when the package is installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from '../cli/support/xlp.js';

let files: string[];
beforeAll(() => {
  assertBuilt();
  // --ignore-scripts: only the file list is wanted (dist/ is built by the test run already).
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
});

describe('the package', () => {
  it('ships the MIT licence it declares, and the docs --help points at', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    expect(files).toContain('LICENSE');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const help = spawnSync(process.execPath, [join(ROOT, 'bin', 'xlp.js'), '--help'], { encoding: 'utf8' }).stdout;
    for (const doc of new Set(help.match(/docs\/[\w-]+\.md/g) ?? [])) expect(files, doc).toContain(doc);
    for (const doc of ['docs/cli.md', 'docs/mock.md', 'docs/preflight.md', 'docs/check-json.md', 'docs/lifecycle.md'])
      expect(files).toContain(doc);
  });

  it('every source map it ships carries its sources (none points at a file left out)', () => {
    const maps = files.filter((f) => f.endsWith('.map') && f.startsWith('dist/'));
    expect(maps.length).toBeGreaterThan(50);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(ROOT, m), 'utf8')) as {
        sources: string[];
        sourceRoot?: string;
        sourcesContent?: (string | null)[];
      };
      map.sources.forEach((source, i) => {
        const shipped = files.includes(join(m, '..', map.sourceRoot ?? '', source).replace(/^\.\//, ''));
        expect(shipped || typeof map.sourcesContent?.[i] === 'string', `${m} -> ${source}`).toBe(true);
      });
    }
  });

  it('runs no install script: the addon ships prebuilt, and npm adds no implicit node-gyp build', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; gypfile?: boolean };
    for (const s of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts[s], s).toBeUndefined();
    // With a binding.gyp and no install script, npm would run `node-gyp rebuild` unless told not to.
    expect(pkg.gypfile).toBe(false);
    // A clone still builds the addon: `prepare` runs on `npm ci`/`npm install` in the repository only.
    expect(pkg.scripts.prepare).toMatch(/node-gyp-build/);
  });
});
