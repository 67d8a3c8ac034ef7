// Step 1: download the Debian packages the guest needs into the cache with `apt-get download`
// and unpack each with `dpkg-deb -x`. Nothing is installed into the host's root, and the host's
// apt configuration is never changed: a release other than the host's (Debian 13 on a Debian 12
// machine) is read through a private apt tree in the cache (its own sources, lists and archive
// cache, passed to apt with -o options; installed packages and pins are ignored there, so every
// package resolves to that release's own version).
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ensureDir, exists, log, run } from './common.js';
import { DEFAULT_TARGET, XEN_TARGETS, type XenTarget } from './targets.js';

/** The 4.17 target's Xen packages (kept for callers that name them). */
export const XEN_PACKAGES = XEN_TARGETS[DEFAULT_TARGET].packages;

export interface FetchedPackage {
  name: string;
  version: string;
  /** Directory the .deb was unpacked into. */
  root: string;
}

export interface Fetched {
  target: XenTarget;
  packages: Record<string, FetchedPackage>;
  /** Exact name of the kernel package, e.g. linux-image-6.1.0-57-amd64. */
  kernelPackage: string;
  /** The packages dom0's node comes from (`userland: 'debian'`: nodejs and the closure of its Depends). */
  nodePackages: string[];
  /** Every unpacked root, in the order of `packages`. */
  roots: string[];
}

/** apt with either the host's configuration or a private tree for one Debian release. */
export class Apt {
  private updated = false;
  readonly dir: string | null;

  constructor(readonly codename: string | null) {
    this.dir = codename === null ? null : cacheDir(join('apt', codename));
  }

  static forTarget(t: XenTarget): Apt {
    return new Apt(t.apt === 'host' ? null : t.debian.codename);
  }

  /** The -o options of the private tree (none for the host's apt). */
  private options(): string[] {
    if (this.dir === null) return [];
    const d = this.dir;
    return [
      '-o',
      'Dir::Etc::SourceList=/dev/null',
      '-o',
      `Dir::Etc::SourceParts=${join(d, 'parts')}`,
      '-o',
      `Dir::State::Lists=${join(d, 'lists')}`,
      '-o',
      `Dir::Cache=${join(d, 'cache')}`,
      // The host's installed packages and pins say nothing about another release.
      '-o',
      'Dir::State::status=/dev/null',
      '-o',
      'Dir::Etc::Preferences=/dev/null',
      '-o',
      'Dir::Etc::PreferencesParts=/dev/null',
    ];
  }

  private setUp(): void {
    if (this.dir === null) return;
    for (const sub of ['parts', 'lists/partial', 'cache/archives/partial']) ensureDir(join(this.dir, sub));
    const sources = join(this.dir, 'parts', `${this.codename}.sources`);
    const text = `Types: deb\nURIs: ${debianMirror()}\nSuites: ${this.codename}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
    if (!exists(sources) || readFileSync(sources, 'utf8') !== text) writeFileSync(sources, text);
  }

  private listsPresent(): boolean {
    const lists = this.dir === null ? '/var/lib/apt/lists' : join(this.dir, 'lists');
    try {
      return readdirSync(lists).some((f) => f.includes('_Packages'));
    } catch {
      return false;
    }
  }

  update(): void {
    if (this.updated) return;
    this.setUp();
    log(`apt-get update${this.codename ? ` (private tree for Debian ${this.codename})` : ''}`);
    run('apt-get', [...this.options(), 'update', '-qq']);
    this.updated = true;
  }

  ensureLists(): void {
    this.setUp();
    if (!this.listsPresent()) this.update();
  }

  cache(args: string[]): string {
    return run('apt-cache', [...this.options(), ...args], { allowFail: true }).stdout;
  }

  download(spec: string, cwd: string): void {
    run('apt-get', [...this.options(), 'download', '-qq', spec], { cwd });
  }

  /** Candidate versions of several packages with one `apt-cache policy` (one run costs ~0.5 s). */
  private candidates(pkgs: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    let name: string | undefined;
    for (const line of this.cache(['policy', ...pkgs]).split('\n')) {
      const head = /^(\S+):$/.exec(line);
      if (head) name = head[1];
      const m = /^\s+Candidate:\s*(\S+)/.exec(line);
      if (m && name && m[1] !== '(none)') out.set(name, m[1]!);
    }
    return out;
  }

  /** The versions apt would take, updating the lists once when one has none. */
  versions(pkgs: readonly string[]): Map<string, string> {
    let got = this.candidates(pkgs);
    if (pkgs.some((p) => !got.has(p))) {
      this.update();
      got = this.candidates(pkgs);
    }
    const missing = pkgs.filter((p) => !got.has(p));
    if (missing.length)
      throw new Error(`apt has no candidate for ${missing.join(', ')}${this.codename ? ` in Debian ${this.codename}` : ''}`);
    return got;
  }

  version(pkg: string): string {
    return this.versions([pkg]).get(pkg)!;
  }

  /** The `linux-image-<abi>-amd64` package that `linux-image-amd64` depends on. */
  kernelPackage(): string {
    const probe = (): string | undefined =>
      /Depends:\s*(linux-image-[0-9][^\s]*-amd64)\s*$/m.exec(this.cache(['depends', 'linux-image-amd64']))?.[1];
    let name = probe();
    if (!name) {
      this.update();
      name = probe();
    }
    if (!name) throw new Error('cannot resolve the kernel package linux-image-amd64 depends on');
    return name;
  }

  /** `pkg` and every real package it depends on, recursively (no recommends, no virtual names). */
  dependsClosure(pkg: string): string[] {
    this.version(pkg);
    const out = this.cache([
      'depends',
      '--recurse',
      '--no-recommends',
      '--no-suggests',
      '--no-conflicts',
      '--no-breaks',
      '--no-replaces',
      '--no-enhances',
      pkg,
    ]);
    const names = out.split('\n').filter((l) => /^[a-z0-9][a-z0-9+.-]*$/.test(l));
    return [...new Set([pkg, ...names])];
  }
}

/** The Debian archive the host's own sources name (a private tree uses the same mirror). */
function debianMirror(): string {
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!exists(f)) continue;
    const text = readFileSync(f, 'utf8');
    const deb822 = text
      .split(/\n\s*\n/)
      .find((stanza) => /^Suites:.*\b(bookworm|trixie|stable)\b(?!-security)/m.test(stanza) && !/debian-security/.test(stanza));
    const uri = deb822 ? /^URIs:\s*(\S+)/m.exec(deb822)?.[1] : /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text)?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

function safe(version: string): string {
  return version.replace(/[^A-Za-z0-9.+~-]/g, '_');
}

function fetchOne(apt: Apt, pkg: string, version: string): FetchedPackage {
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
      apt.download(`${pkg}=${version}`, tmp);
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

const memo = new Map<string, Fetched>();

/** Downloads and unpacks every package of a target (idempotent per exact version). */
export function fetchPackages(target: XenTarget = XEN_TARGETS[DEFAULT_TARGET]): Fetched {
  const hit = memo.get(target.id);
  if (hit) return hit;
  const apt = Apt.forTarget(target);
  apt.ensureLists();
  const kernelPackage = apt.kernelPackage();
  const nodePackages = target.userland === 'debian' ? apt.dependsClosure('nodejs') : [];
  const names = [...new Set([...target.packages, kernelPackage, ...nodePackages])];
  const versions = apt.versions(names);
  const packages: Record<string, FetchedPackage> = {};
  for (const name of names) packages[name] = fetchOne(apt, name, versions.get(name)!);
  const fetched = { target, packages, kernelPackage, nodePackages, roots: names.map((n) => packages[n]!.root) };
  memo.set(target.id, fetched);
  return fetched;
}

/** One package of a target's Debian release, unpacked (e.g. its libxen-dev for the ABI check). */
export function fetchPackage(target: XenTarget, name: string): FetchedPackage {
  const apt = Apt.forTarget(target);
  apt.ensureLists();
  return fetchOne(apt, name, apt.version(name));
}

/** The root a package was unpacked into. */
export function pkgRoot(f: Fetched, name: string): string {
  const p = f.packages[name];
  if (!p) throw new Error(`package ${name} was not fetched`);
  return p.root;
}
