// Step 1: download the Debian packages the guest needs into the cache with `apt-get download`
// and unpack each with `dpkg-deb -x`. Nothing is installed into the host's root.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ensureDir, exists, log, run } from './common.js';

/** Packages named in xen-in-qemu.md; the kernel image is resolved at run time. */
export const XEN_PACKAGES = [
  'xen-hypervisor-4.17-amd64',
  'xen-utils-4.17',
  'libxenmisc4.17', // ships libxenctrl.so.4.17
  'libxencall1',
  'libxenevtchn1',
  'libxenforeignmemory1',
  'libxengnttab1',
  'libxentoollog1',
  'libxendevicemodel1',
  'libxentoolcore1',
  'libxenstore4',
  'libxenhypfs1',
  'libyajl2',
] as const;

export interface FetchedPackage {
  name: string;
  version: string;
  /** Directory the .deb was unpacked into. */
  root: string;
}

export interface Fetched {
  packages: Record<string, FetchedPackage>;
  /** Exact name of the kernel package, e.g. linux-image-6.1.0-57-amd64. */
  kernelPackage: string;
  /** Every unpacked root, in the order of `packages`. */
  roots: string[];
}

function aptListsPresent(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((f) => f.includes('_Packages'));
  } catch {
    return false;
  }
}

let updated = false;
function aptUpdate(): void {
  if (updated) return;
  log('apt-get update');
  run('apt-get', ['update', '-qq']);
  updated = true;
}

function candidateVersion(pkg: string): string | undefined {
  const r = run('apt-cache', ['policy', pkg], { allowFail: true });
  const m = /Candidate:\s*(\S+)/.exec(r.stdout);
  return m && m[1] !== '(none)' ? m[1] : undefined;
}

function resolveVersion(pkg: string): string {
  let v = candidateVersion(pkg);
  if (!v) {
    aptUpdate();
    v = candidateVersion(pkg);
  }
  if (!v) throw new Error(`apt has no candidate for ${pkg}`);
  return v;
}

/** The `linux-image-<abi>-amd64` package that `linux-image-amd64` depends on. */
export function resolveKernelPackage(): string {
  const probe = (): string | undefined => {
    const r = run('apt-cache', ['depends', 'linux-image-amd64'], { allowFail: true });
    const m = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)\s*$/m.exec(r.stdout);
    return m?.[1];
  };
  let name = probe();
  if (!name) {
    aptUpdate();
    name = probe();
  }
  if (!name) throw new Error('cannot resolve the kernel package linux-image-amd64 depends on');
  return name;
}

function safe(version: string): string {
  return version.replace(/[^A-Za-z0-9.+~-]/g, '_');
}

function fetchOne(pkg: string, version: string): FetchedPackage {
  const debDir = cacheDir('debs');
  const root = join(cacheDir('pkgs'), `${pkg}_${safe(version)}`);
  const stamp = join(root, '.xlp-extracted');
  if (exists(stamp) && readFileSync(stamp, 'utf8').trim() === `${pkg}=${version}`) {
    return { name: pkg, version, root };
  }
  const deb = join(debDir, `${pkg}_${safe(version)}_amd64.deb`);
  if (!exists(deb)) {
    const tmp = ensureDir(join(debDir, `.dl-${process.pid}`));
    try {
      log(`apt-get download ${pkg}=${version}`);
      run('apt-get', ['download', '-qq', `${pkg}=${version}`], { cwd: tmp });
      const got = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
      if (got.length !== 1) throw new Error(`apt-get download ${pkg} produced ${got.length} files`);
      renameSync(join(tmp, got[0]!), deb);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  rmSync(root, { recursive: true, force: true });
  ensureDir(root);
  log(`dpkg-deb -x ${pkg}`);
  run('dpkg-deb', ['-x', deb, root]);
  writeFileSync(stamp, `${pkg}=${version}\n`);
  return { name: pkg, version, root };
}

/** Downloads and unpacks every package (idempotent per exact version). */
export function fetchPackages(): Fetched {
  if (!aptListsPresent()) aptUpdate();
  const kernelPackage = resolveKernelPackage();
  const names = [...XEN_PACKAGES, kernelPackage];
  const packages: Record<string, FetchedPackage> = {};
  for (const name of names) packages[name] = fetchOne(name, resolveVersion(name));
  return { packages, kernelPackage, roots: names.map((n) => packages[n]!.root) };
}

/** The root a package was unpacked into. */
export function pkgRoot(f: Fetched, name: string): string {
  const p = f.packages[name];
  if (!p) throw new Error(`package ${name} was not fetched`);
  return p.root;
}
