// The project as a user gets it: `npm run prebuildify` (the addon users load), `npm pack`, then the
// tarball installed with `--omit=dev` into a folder of its own. That folder's node_modules is what
// the guest suite imports, so the prebuilt addon, the compiled dist/ and the runtime dependencies
// are exactly what runs in dom0. Each step is skipped when its inputs did not change.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT, cacheDir, log, run, sha256 } from '../common.js';

export interface Packed {
  name: string;
  version: string;
  /** The tarball `npm pack` wrote. */
  tarball: string;
  tarballSha256: string;
  /** Directory whose node_modules holds the installed package and its runtime dependencies. */
  appDir: string;
  /** Seconds spent per step (0 when reused). */
  timings: { prebuildifySec: number; packSec: number; installSec: number };
}

const ADDON = join('prebuilds', 'linux-x64', 'xen-livepatch.node');

function hashTree(h: ReturnType<typeof createHash>, path: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) hashTree(h, join(path, name));
  } else {
    h.update(`${relative(REPO_ROOT, path)}\n`);
    h.update(readFileSync(path));
  }
}

function npmEnv(): NodeJS.ProcessEnv {
  // node-gyp builds against the distribution's headers, never downloading them (as .ci/run does).
  return {
    ...process.env,
    npm_config_nodedir: '/usr',
    JOBS: 'max',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

/**
 * `npm run prebuildify`, unless prebuilds/ already holds the build of these exact sources. It runs
 * in a copy of the package (as the prebuild test does): prebuildify rebuilds and then removes the
 * repository's build/, which the native tests load. The result is copied into prebuilds/.
 */
function prebuildify(): number {
  const h = createHash('sha256').update('xlp-prebuild v1\n');
  for (const p of ['native', 'binding.gyp', 'package.json']) hashTree(h, join(REPO_ROOT, p));
  h.update(process.version);
  const key = h.digest('hex');
  const stamp = join(REPO_ROOT, 'prebuilds', '.xlp-sources');
  if (existsSync(join(REPO_ROOT, ADDON)) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return 0;
  const t0 = Date.now();
  const copy = join(cacheDir(), 'prebuild-work');
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  for (const entry of ['package.json', '.npmrc', 'binding.gyp', 'native'])
    cpSync(join(REPO_ROOT, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  log('npm run prebuildify');
  run('npm', ['run', 'prebuildify'], { cwd: copy, env: npmEnv() });
  if (!existsSync(join(copy, ADDON))) throw new Error(`npm run prebuildify did not produce ${ADDON}`);
  mkdirSync(join(REPO_ROOT, 'prebuilds', 'linux-x64'), { recursive: true });
  copyFileSync(join(copy, ADDON), join(REPO_ROOT, ADDON));
  writeFileSync(stamp, key);
  rmSync(copy, { recursive: true, force: true });
  return (Date.now() - t0) / 1000;
}

export function packProject(): Packed {
  const prebuildifySec = prebuildify();

  // npm pack runs `prepare` (tsc -> dist/) first, so dist/ always matches lib/.
  const t0 = Date.now();
  const packDir = cacheDir('pack');
  for (const f of readdirSync(packDir)) if (f.endsWith('.tgz')) rmSync(join(packDir, f));
  log('npm pack');
  const out = run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: REPO_ROOT, env: npmEnv() }).stdout;
  const info = (
    JSON.parse(out.slice(out.indexOf('['))) as Array<{ name: string; version: string; filename: string; files: Array<{ path: string }> }>
  )[0]!;
  if (!info.files.some((f) => f.path === ADDON)) throw new Error(`the packed tarball has no ${ADDON}`);
  const tarball = join(packDir, info.filename);
  const tarballSha256 = sha256(readFileSync(tarball));
  const packSec = (Date.now() - t0) / 1000;

  // Install the tarball the way a user would, runtime dependencies only (npm's cache serves them).
  const appDir = join(cacheDir('suite-app'), tarballSha256.slice(0, 16));
  let installSec = 0;
  if (!existsSync(join(appDir, '.xlp-installed'))) {
    const t1 = Date.now();
    const tmp = `${appDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'package.json'), `${JSON.stringify({ name: 'xlp-dom0-suite', private: true }, null, 2)}\n`);
    log(`npm install --omit=dev ${info.filename}`);
    run('npm', ['install', '--omit=dev', '--no-package-lock', '--prefer-offline', tarball], { cwd: tmp, env: npmEnv() });
    const pkgDir = join(tmp, 'node_modules', info.name);
    if (!existsSync(join(pkgDir, ADDON))) throw new Error(`the installed package has no ${ADDON}`);
    if (existsSync(join(pkgDir, 'build')))
      throw new Error('the installed package has a build/ directory: something compiled the addon at install time');
    for (const dev of ['typescript', 'vitest', 'tsx', 'node-gyp', 'prebuildify']) {
      if (existsSync(join(tmp, 'node_modules', dev))) throw new Error(`--omit=dev installed the dev dependency ${dev}`);
    }
    writeFileSync(join(tmp, '.xlp-installed'), `${info.filename} ${tarballSha256}\n`);
    rmSync(appDir, { recursive: true, force: true });
    renameSync(tmp, appDir);
    installSec = (Date.now() - t1) / 1000;
    // Old installs are of no further use.
    for (const d of readdirSync(cacheDir('suite-app')))
      if (d !== tarballSha256.slice(0, 16)) rmSync(join(cacheDir('suite-app'), d), { recursive: true, force: true });
  }
  return { name: info.name, version: info.version, tarball, tarballSha256, appDir, timings: { prebuildifySec, packSec, installSec } };
}
