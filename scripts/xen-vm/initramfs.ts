// Step 3: the dom0 initramfs. Three uncompressed newc layers, each cached by the hash of its
// content, concatenated per run (the kernel unpacks concatenated archives in order):
//   base  busybox + applet links, /init, xen-privcmd/xenfs modules, node and its library closure,
//         libxenctrl.so.4.N and its closure, xen-livepatch (and any extra host files); for a
//         Debian 13 target, node, glibc and every library are the release's own, none the host's
//   stage the caller's staging directory at /opt/xlp
//   run   /etc/xlp/run.sh: the guest command of this run
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { basename, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { CpioWriter, type CpioEntry } from './cpio.js';
import { HARNESS_DIR, cacheDir, exists, log, run, sha256 } from './common.js';
import { fetchPackages, pkgRoot, type Fetched } from './fetch.js';
import { MARKER } from './protocol.js';

export const GUEST_STAGE_DIR = '/opt/xlp';
export const GUEST_LIB_DIR = '/lib/x86_64-linux-gnu';
export const GUEST_HARNESS_DIR = '/usr/lib/xlp-harness';

type Planned = CpioEntry & { hash?: string };

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function entryKey(e: Planned): string {
  if (e.type === 'dir') return `d ${e.path} ${e.mode ?? 0o755}`;
  if (e.type === 'symlink') return `l ${e.path} ${e.target}`;
  const h = typeof e.source === 'string' ? (e.hash ??= fileHash(e.source)) : sha256(e.source);
  return `f ${e.path} ${e.mode ?? 0o644} ${h}`;
}

function layerHash(kind: string, entries: Planned[]): string {
  const h = createHash('sha256').update(`xlp-initramfs-v1 ${kind}\n`);
  for (const e of entries) h.update(`${entryKey(e)}\n`);
  return h.digest('hex');
}

/** Writes (or reuses) the cpio for a layer; returns its path. */
function buildLayer(kind: string, entries: Planned[]): { path: string; hash: string; reused: boolean } {
  const hash = layerHash(kind, entries);
  const path = join(cacheDir('initramfs'), `${kind}-${hash.slice(0, 20)}.cpio`);
  if (exists(path)) {
    const now = new Date();
    utimesSync(path, now, now);
    return { path, hash, reused: true };
  }
  const tmp = `${path}.${process.pid}.tmp`;
  const w = new CpioWriter(tmp);
  const dirs = new Set<string>();
  const addParents = (p: string) => {
    const parts = p.replace(/^\/+/, '').split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        w.add({ type: 'dir', path: d });
      }
    }
  };
  for (const e of entries) {
    addParents(e.path);
    if (e.type === 'dir') dirs.add(e.path.replace(/^\/+/, ''));
    w.add(e);
  }
  w.close();
  renameSync(tmp, path);
  // Keep a few layers of each kind; older ones are rebuilt on demand.
  const dir = cacheDir('initramfs');
  const mine = readdirSync(dir)
    .filter((n) => n.startsWith(`${kind}-`) && n.endsWith('.cpio'))
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const old of mine.slice(kind === 'run' ? 10 : 3)) rmSync(join(dir, old.n), { force: true });
  log(`built initramfs layer ${kind} (${(statSync(path).size / 1048576).toFixed(1)} MiB)`);
  return { path, hash, reused: false };
}

// ---------- shared-library closure ----------

function needed(elf: string): string[] {
  const out = run('readelf', ['-d', '-W', elf]).stdout;
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

function interp(elf: string): string | undefined {
  const out = run('readelf', ['-l', '-W', elf]).stdout;
  return /\[Requesting program interpreter: ([^\]]+)\]/.exec(out)?.[1];
}

/** Resolves the NEEDED closure of `elfs`, preferring the unpacked packages over the host. */
export function libraryClosure(elfs: string[], searchDirs: string[]): Map<string, string> {
  const found = new Map<string, string>(); // soname -> host path
  const queue = [...elfs];
  while (queue.length) {
    const elf = queue.shift()!;
    for (const so of needed(elf)) {
      if (found.has(so)) continue;
      const hit = searchDirs.map((d) => join(d, so)).find((p) => exists(p));
      if (!hit) throw new Error(`${basename(elf)} needs ${so}, found in none of ${searchDirs.join(', ')}`);
      found.set(so, hit);
      queue.push(hit);
    }
  }
  return found;
}

// ---------- kernel modules ----------

function moduleBytes(path: string): Buffer {
  const tool = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dcq'] : undefined;
  if (tool) {
    const r = spawnSync(tool[0]!, [tool[1]!, path], { maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${tool[0]} failed on ${path}`);
    return r.stdout;
  }
  if (path.endsWith('.gz')) return gunzipSync(readFileSync(path));
  return readFileSync(path);
}

function findModules(dir: string, acc = new Map<string, string>()): Map<string, string> {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) findModules(p, acc);
    else {
      const m = /^(.*)\.ko(\.xz|\.zst|\.gz)?$/.exec(ent.name);
      if (m) acc.set(m[1]!.replace(/-/g, '_'), p);
    }
  }
  return acc;
}

function modinfoDepends(ko: Buffer): string[] {
  const s = ko.toString('latin1');
  const m = /\0depends=([^\0]*)\0/.exec(s);
  return m && m[1] ? m[1].split(',').filter(Boolean) : [];
}

/** The modules to insmod, dependencies first, as [name, decompressed bytes]. */
export function moduleLoadOrder(modulesDir: string, wanted: string[]): Array<[string, Buffer]> {
  const all = findModules(join(modulesDir, 'kernel'));
  const order: Array<[string, Buffer]> = [];
  const done = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    const key = name.replace(/-/g, '_');
    if (done.has(key)) return;
    if (chain.includes(key)) throw new Error(`module dependency cycle: ${[...chain, key].join(' -> ')}`);
    const path = all.get(key);
    if (!path) throw new Error(`kernel module ${name} not found under ${modulesDir}`);
    const bytes = moduleBytes(path);
    for (const dep of modinfoDepends(bytes)) visit(dep, [...chain, key]);
    done.add(key);
    order.push([basename(path).replace(/\.(xz|zst|gz)$/, ''), bytes]);
  };
  for (const w of wanted) visit(w, []);
  return order;
}

// ---------- /init ----------

function initScript(modules: string[]): string {
  return `#!/bin/sh
# dom0 init of the xen-livepatch harness: modules, xenfs, the guest command, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=${GUEST_LIB_DIR}:/usr/lib/x86_64-linux-gnu
export HOME=/root TERM=dumb XLP_IN_XEN=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /root
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1
M='${MARKER}'
stty -onlcr 2>/dev/null
echo "$M{\\"type\\":\\"init\\",\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"
fail() {
  echo "$M{\\"type\\":\\"exit\\",\\"code\\":125,\\"stage\\":\\"init\\",\\"error\\":\\"$1\\"}"
  poweroff -f
}
${modules.map((m) => `insmod /lib/modules/${m} || fail "insmod ${m}"`).join('\n')}
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen || fail "mount xenfs"
[ -c /dev/xen/privcmd ] || fail "no /dev/xen/privcmd"
echo "$M{\\"type\\":\\"ready\\",\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"
cd ${GUEST_STAGE_DIR}
sh /etc/xlp/run.sh
rc=$?
echo "$M{\\"type\\":\\"exit\\",\\"code\\":$rc,\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"
sync
poweroff -f
`;
}

// ---------- layers ----------

export interface BaseOptions {
  /** Kernel modules loaded at boot besides xen-privcmd and xenfs (with their dependencies), e.g. virtio_blk. */
  modules?: string[];
  /** Extra host files copied in: guest path -> host path (mode 0755 when the host file is executable). */
  extraFiles?: Record<string, string>;
  /** Executables from the unpacked xen-utils bin dir, with their library closure (default: xl). */
  xenTools?: string[];
  fetched?: Fetched;
}

function hostFile(path: string, guest: string): Planned {
  const st = statSync(path);
  return { type: 'file', path: guest, source: path, mode: st.mode & 0o111 ? 0o755 : 0o644 };
}

export function baseEntries(opts: BaseOptions = {}): Planned[] {
  const f = opts.fetched ?? fetchPackages();
  const entries: Planned[] = [];
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'root', 'etc/xlp', 'opt/xlp', 'lib/modules']) entries.push({ type: 'dir', path: d });

  // busybox-static and its applet links
  entries.push({ type: 'file', path: 'bin/busybox', source: realpathSync('/usr/bin/busybox'), mode: 0o755 });
  const applets = run('/usr/bin/busybox', ['--list-full']).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'bin/busybox') entries.push({ type: 'symlink', path: a, target: '/bin/busybox' });

  // kernel modules, dependencies first
  // Debian 12 ships them under /lib/modules, Debian 13 (merged /usr) under /usr/lib/modules.
  const kroot = pkgRoot(f, f.kernelPackage);
  const modRoot = ['lib/modules', 'usr/lib/modules'].map((d) => join(kroot, d)).find((d) => exists(d));
  if (!modRoot) throw new Error(`${f.kernelPackage} has no lib/modules or usr/lib/modules`);
  const kver = readdirSync(modRoot)[0]!;
  // A wanted module the kernel has built in (modules.builtin) needs no insmod: Debian 13's virtio_pci.
  const builtinFile = join(modRoot, kver, 'modules.builtin');
  const builtin = new Set(
    (exists(builtinFile) ? readFileSync(builtinFile, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) =>
        basename(l)
          .replace(/\.ko.*$/, '')
          .replace(/-/g, '_'),
      ),
  );
  const extra = (opts.modules ?? []).filter((m) => !builtin.has(m.replace(/-/g, '_')));
  const mods = moduleLoadOrder(join(modRoot, kver), ['xen-privcmd', 'xenfs', ...extra]);
  for (const [name, bytes] of mods) entries.push({ type: 'file', path: `lib/modules/${name}`, source: bytes });
  entries.push({ type: 'file', path: 'init', source: Buffer.from(initScript(mods.map(([n]) => n))), mode: 0o755 });

  // executables and their closure
  const t = f.target;
  const utils = join(pkgRoot(f, t.utilsPackage), t.xenBinDir);
  const libxenctrl = join(pkgRoot(f, t.libxenctrlPackage), 'usr/lib/x86_64-linux-gnu', t.libxenctrl);
  const debianUserland = t.userland === 'debian';
  const node = debianUserland ? join(pkgRoot(f, 'nodejs'), 'usr/bin/node') : realpathSync('/usr/bin/node');
  const exes: Array<[string, string]> = [
    ['/usr/bin/node', node],
    ['/usr/sbin/xen-livepatch', join(utils, 'xen-livepatch')],
    ...(opts.xenTools ?? ['xl']).map((x): [string, string] => [`/usr/sbin/${x}`, join(utils, x)]),
  ];
  for (const [guest, host] of exes) entries.push({ type: 'file', path: guest, source: host, mode: 0o755 });
  for (const [guest, host] of Object.entries(opts.extraFiles ?? {})) entries.push(hostFile(host, guest));
  // A Debian 13 dom0 gets nothing from the host: every library comes from the release's packages.
  const searchDirs = [
    ...f.roots.flatMap((r) => [join(r, 'usr/lib/x86_64-linux-gnu'), join(r, 'lib/x86_64-linux-gnu'), join(r, t.xenBinDir, '..', 'lib')]),
    ...(debianUserland ? [] : ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu']),
  ].filter((d) => exists(d));
  const elfExtras = Object.values(opts.extraFiles ?? {}).filter((p) => readFileSync(p).subarray(0, 4).toString('latin1') === '\x7fELF');
  const closure = libraryClosure([...exes.map(([, h]) => h), libxenctrl, ...elfExtras], searchDirs);
  closure.set(t.libxenctrl, libxenctrl);
  for (const [so, host] of closure)
    entries.push({ type: 'file', path: posix.join(GUEST_LIB_DIR, so), source: realpathSync(host), mode: 0o755 });
  entries.push({ type: 'symlink', path: 'usr/lib/x86_64-linux-gnu', target: GUEST_LIB_DIR });
  // the program interpreter, at the path the executables name (the release's own on Debian 13)
  const ld = interp(node);
  if (!ld) throw new Error('node has no program interpreter?');
  const ldSource = debianUserland ? join(pkgRoot(f, 'libc6'), 'usr/lib/x86_64-linux-gnu', basename(ld)) : realpathSync(ld);
  if (!exists(ldSource))
    throw new Error(`the program interpreter ${ld} is not in ${debianUserland ? "the release's libc6" : 'the host'} (${ldSource})`);
  entries.push({ type: 'file', path: ld, source: realpathSync(ldSource), mode: 0o755 });
  // Debian's node loads some of its own JavaScript (cjs-module-lexer, undici, acorn, ...) from
  // /usr/share/nodejs at run time: the packages of its closure bring them.
  if (debianUserland) {
    for (const pkg of f.nodePackages) {
      for (const sub of ['usr/share/nodejs', 'usr/lib/x86_64-linux-gnu/nodejs']) {
        const dir = join(pkgRoot(f, pkg), sub);
        if (exists(dir)) entries.push(...treeEntries(dir, sub.replace(/^usr\/lib\/x86_64-linux-gnu/, GUEST_LIB_DIR.slice(1))));
      }
    }
  }

  // the guest half of the serial protocol
  for (const f of readdirSync(join(HARNESS_DIR, 'guest'))
    .filter((n) => n.endsWith('.mjs'))
    .sort()) {
    entries.push({ type: 'file', path: `${GUEST_HARNESS_DIR}/${f}`, source: join(HARNESS_DIR, 'guest', f) });
  }
  // xl runs without xenstored for `xl debug-keys` and `xl dmesg`; an empty config silences it.
  entries.push({ type: 'file', path: 'etc/xen/xl.conf', source: Buffer.from('') });
  entries.push({ type: 'file', path: 'etc/passwd', source: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') });
  return entries;
}

/** A host directory as entries under `guestDir` (symlinks kept, modes from the host). */
function treeEntries(hostDir: string, guestDir: string): Planned[] {
  const entries: Planned[] = [];
  const walk = (host: string, guest: string) => {
    for (const name of readdirSync(host).sort()) {
      const h = join(host, name);
      const g = posix.join(guest, name);
      const st = lstatSync(h);
      if (st.isSymbolicLink()) entries.push({ type: 'symlink', path: g, target: readlinkSync(h) });
      else if (st.isDirectory()) {
        entries.push({ type: 'dir', path: g });
        walk(h, g);
      } else if (st.isFile()) entries.push({ type: 'file', path: g, source: h, mode: st.mode & 0o111 ? 0o755 : 0o644 });
    }
  };
  walk(hostDir, guestDir);
  return entries;
}

function stageEntries(stagingDir: string): Planned[] {
  return treeEntries(stagingDir, GUEST_STAGE_DIR.slice(1));
}

/** POSIX-sh quoting of one argument. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface InitramfsOptions extends BaseOptions {
  stagingDir?: string;
  /** argv of the guest command (run from /opt/xlp), or a shell string. */
  command: string[] | string;
  env?: Record<string, string>;
  /** Output file for the concatenated initrd. */
  out: string;
}

export interface InitramfsResult {
  path: string;
  size: number;
  layers: Array<{ kind: string; path: string; hash: string; reused: boolean; size: number }>;
}

export async function buildInitramfs(opts: InitramfsOptions): Promise<InitramfsResult> {
  const layers = [{ kind: 'base', ...buildLayer('base', baseEntries(opts)) }];
  if (opts.stagingDir) layers.push({ kind: 'stage', ...buildLayer('stage', stageEntries(opts.stagingDir)) });
  const cmd = typeof opts.command === 'string' ? opts.command : opts.command.map(shQuote).join(' ');
  const envLines = Object.entries(opts.env ?? {}).map(([k, v]) => `export ${k}=${shQuote(v)}`);
  const runSh = `${envLines.join('\n')}\n${cmd}\n`;
  layers.push({ kind: 'run', ...buildLayer('run', [{ type: 'file', path: 'etc/xlp/run.sh', source: Buffer.from(runSh) }]) });
  const out = createWriteStream(opts.out);
  for (const l of layers) await pipeline(createReadStream(l.path), out, { end: false });
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  return {
    path: opts.out,
    size: statSync(opts.out).size,
    layers: layers.map((l) => ({ ...l, size: statSync(l.path).size })),
  };
}
