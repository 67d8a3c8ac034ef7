// Step 4: boot Xen + dom0 under QEMU and run one guest command, always under a wall-clock
// timeout. The serial console goes to a file that is tailed while QEMU runs; protocol lines
// (see protocol.ts) are decoded as they arrive.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, exists, log } from './common.js';
import { fetchPackages, pkgRoot } from './fetch.js';
import { xenImage, type XenImage } from './image.js';
import { buildInitramfs, type BaseOptions } from './initramfs.js';
import { ProtocolParser, SerialSplices, type Blob, type XlpEvent } from './protocol.js';

export interface RunInXenOptions extends BaseOptions {
  /** Host directory copied to /opt/xlp in dom0 (the guest command's working directory). */
  stagingDir?: string;
  /** Guest command: argv, or a shell string. */
  command: string[] | string;
  env?: Record<string, string>;
  /** Wall-clock limit for the whole boot (default 300 s, or XLP_XEN_TIMEOUT). */
  timeoutSec?: number;
  /** Called for every protocol event as it arrives. */
  onEvent?: (ev: XlpEvent) => void;
  /** Called for every serial line (protocol lines included). */
  onLine?: (line: string) => void;
  /** Copy the serial to stderr as it arrives (default: XLP_XEN_ECHO=1). */
  echo?: boolean;
  /** Fail unless the guest sends a `done` event (default false). */
  requireDone?: boolean;
  /** Directory for serial.log and initrd.cpio (default: a fresh dir under the cache's runs/). */
  runDir?: string;
  memMiB?: number;
  cpus?: number;
  /** Extra words for Xen's command line. */
  xenArgs?: string[];
  /**
   * Raw disk images attached as virtio disks (/dev/vda, /dev/vdb, ... in dom0, with
   * `modules: ['virtio_blk', 'virtio_pci']`): what a test keeps between two boots.
   */
  drives?: string[];
  /** Print the last serial lines to stderr on failure (default true). */
  printTailOnFailure?: boolean;
}

export interface RunInXenResult {
  ok: boolean;
  /** Why the run failed, when it did. */
  failures: string[];
  /** The guest command's exit code, from /init's exit event. */
  exitCode?: number;
  events: XlpEvent[];
  blobs: Map<string, Blob>;
  /** Xen's own console lines ("(XEN) " prefix stripped), in order. */
  xenLines: string[];
  serialLog: string;
  image: XenImage;
  initrdBytes: number;
  timings: {
    /** QEMU start to QEMU exit. */
    totalSec: number;
    /** QEMU start to /init's first line. */
    initSec?: number;
    /** QEMU start to the guest command's exit event. */
    exitSec?: number;
    accel: string;
  };
  qemuExit: { code: number | null; signal: string | null };
  /** Set when the first boot died before dom0's /init ran and this result is the one retry's. */
  retried?: { reason: string; serialLog: string };
}

/** Console patterns that mean the hypervisor or dom0 died. */
export const CRASH_PATTERNS: RegExp[] = [
  /Panic on CPU \d+/,
  /Hardware Dom0 crashed/,
  /Kernel panic - not syncing/,
  /FATAL (PAGE FAULT|TRAP)/,
  /Xen BUG at /,
  /d0v\d+ Unhandled: /,
  /BUG: unable to handle/,
  /general protection fault/,
];

/** KVM only where hardware virtualisation really exists (not the kvm_pvm software backend). */
export function chooseAccel(): string {
  const forced = process.env.XLP_XEN_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return forced;
  try {
    const cpu = readFileSync('/proc/cpuinfo', 'utf8');
    const mods = exists('/proc/modules') ? readFileSync('/proc/modules', 'utf8') : '';
    if (/\b(vmx|svm)\b/.test(cpu) && !/^kvm_pvm\b/m.test(mods) && exists('/dev/kvm')) return 'kvm';
  } catch {
    /* fall through */
  }
  return 'tcg';
}

/**
 * Why a failed boot died before dom0's /init ran, or null: a crash line on the console (Xen or the
 * dom0 kernel) and no `init` event. Nothing of the project had run then, so such a boot is retried
 * once (seen on Debian 13's 6.12 dom0 kernel under TCG: an `Oops: int3` in `sched_clock_cpu` from
 * text patching racing another vCPU, then `Hardware Dom0 crashed`).
 */
export function diedBeforeInit(r: Pick<RunInXenResult, 'ok' | 'events' | 'failures'>): string | null {
  if (r.ok || r.events.some((e) => e.type === 'init')) return null;
  const crash = r.failures.find((f) => f.startsWith('crash on the console: '));
  return crash ? `dom0 died before /init (${crash.slice('crash on the console: '.length)})` : null;
}

/** Boots Xen + dom0 and runs the guest command; a boot whose dom0 died before /init is retried once, saying so. */
export async function runInXen(opts: RunInXenOptions): Promise<RunInXenResult> {
  const first = await bootOnce(opts, opts.runDir);
  const reason = diedBeforeInit(first);
  if (!reason) return first;
  log(`${reason}: nothing of the project ran yet; retrying this boot once (serial log of the failed boot: ${first.serialLog})`);
  const second = await bootOnce(opts, opts.runDir ? join(opts.runDir, 'retry') : undefined);
  return { ...second, retried: { reason, serialLog: first.serialLog } };
}

async function bootOnce(opts: RunInXenOptions, runDirOption: string | undefined): Promise<RunInXenResult> {
  const fetched = opts.fetched ?? fetchPackages();
  const image = xenImage(fetched);
  if (!runDirOption) pruneOld(cacheDir('runs'), 20);
  const runDir = runDirOption ?? join(cacheDir('runs'), `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  const initrd = await buildInitramfs({ ...opts, fetched, out: join(runDir, 'initrd.cpio') });
  const kroot = pkgRoot(fetched, fetched.kernelPackage);
  const vmlinuz = join(kroot, 'boot', `vmlinuz-${fetched.kernelPackage.replace(/^linux-image-/, '')}`);
  const serialLog = join(runDir, 'serial.log');
  writeFileSync(serialLog, '');

  const accel = chooseAccel();
  const timeoutSec = opts.timeoutSec ?? (Number(process.env.XLP_XEN_TIMEOUT) || 300);
  const mem = opts.memMiB ?? 2048;
  const cpus = opts.cpus ?? 2;
  const xenCmd = [
    'console=com1',
    'com1=115200,8n1',
    'loglvl=all',
    'guest_loglvl=all',
    'dom0_mem=1024M,max:1024M',
    'dom0_max_vcpus=2',
    'smap=0',
    ...(opts.xenArgs ?? []),
  ].join(' ');
  const dom0Cmd = 'console=hvc0 earlyprintk=xen rdinit=/init loglevel=4';
  const esc = (s: string) => s.replace(/,/g, ',,');
  const qemuArgs = [
    '-accel',
    accel,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-machine',
    'pc',
    '-smp',
    String(cpus),
    '-m',
    String(mem),
    '-nodefaults',
    '-no-reboot',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    `file:${serialLog}`,
    '-kernel',
    image.path,
    '-append',
    xenCmd,
    '-initrd',
    `${esc(vmlinuz)} ${dom0Cmd},${esc(initrd.path)}`,
    ...(opts.drives ?? []).flatMap((d) => ['-drive', `file=${esc(d)},format=raw,if=virtio`]),
  ];
  // coreutils timeout is the backstop should this process die; our own timer acts first.
  const child = spawn('timeout', ['-k', '5', String(timeoutSec + 15), 'qemu-system-x86_64', ...qemuArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: killing it stops QEMU too
  });
  const killAll = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  let qemuOut = '';
  child.stdout.on('data', (d) => (qemuOut += d));
  child.stderr.on('data', (d) => (qemuOut += d));
  const t0 = Date.now();
  log(
    `booting Xen ${image.version} (Debian ${fetched.target.debian.release}, build-id ${image.buildId}) under QEMU ${accel}, timeout ${timeoutSec}s; serial: ${serialLog}`,
  );

  const parser = new ProtocolParser();
  const failures: string[] = [];
  const xenLines: string[] = [];
  const echo = opts.echo ?? process.env.XLP_XEN_ECHO === '1';
  let initSec: number | undefined;
  let exitSec: number | undefined;
  let exitCode: number | undefined;
  let crashAt: number | undefined;
  let timedOut = false;

  const onLine = (line: string) => {
    const l = line.replace(/\r/g, '');
    if (echo) process.stderr.write(`${l}\n`);
    opts.onLine?.(l);
    if (l.startsWith('(XEN) ')) xenLines.push(l.slice(6));
    const ev = parser.feed(l);
    if (ev) {
      const t = (Date.now() - t0) / 1000;
      if (ev.type === 'init') initSec = t;
      if (ev.type === 'exit') {
        exitSec = t;
        exitCode = Number(ev.code);
      }
      opts.onEvent?.(ev);
    } else if (crashAt === undefined && CRASH_PATTERNS.some((re) => re.test(l))) {
      failures.push(`crash on the console: ${l.trim()}`);
      crashAt = Date.now();
    }
  };

  // Tail the serial file, taking Xen lines spliced into dom0's lines back out.
  const splices = new SerialSplices();
  const fd = openSync(serialLog, 'r');
  let pos = 0;
  let partial = Buffer.alloc(0);
  const buf = Buffer.alloc(1 << 16);
  const drain = () => {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      partial = Buffer.concat([partial, buf.subarray(0, n)]);
      let nl: number;
      while ((nl = partial.indexOf(0x0a)) >= 0) {
        for (const l of splices.push(partial.subarray(0, nl).toString('utf8').replace(/\r+$/, ''))) onLine(l);
        partial = partial.subarray(nl + 1);
      }
    }
  };
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  let finished = false;
  void exited.then(() => (finished = true));
  while (!finished) {
    drain();
    const elapsed = (Date.now() - t0) / 1000;
    if (elapsed > timeoutSec && !timedOut) {
      timedOut = true;
      failures.push(`timeout: no power-off within ${timeoutSec}s`);
      killAll();
    }
    // After a crash give Xen a few seconds to print its report, then stop waiting for the reboot.
    if (crashAt !== undefined && Date.now() - crashAt > 8000) killAll();
    await new Promise((r) => setTimeout(r, 100));
  }
  const qemuExit = await exited;
  drain();
  for (const l of [...(partial.length ? splices.push(partial.toString('utf8')) : []), ...splices.flush()]) onLine(l);
  if (splices.repaired) log(`${splices.repaired} Xen line(s) spliced into dom0's output were taken back out`);
  closeSync(fd);
  const totalSec = (Date.now() - t0) / 1000;

  if (qemuExit.code !== 0 && !timedOut && crashAt === undefined) {
    failures.push(`qemu exited ${qemuExit.code ?? qemuExit.signal}: ${qemuOut.trim().slice(0, 500)}`);
  }
  failures.push(...parser.errors);
  for (const b of parser.unfinishedBlobs()) failures.push(`blob ${b} never finished`);
  if (exitCode === undefined) failures.push('the guest command never reported its exit (dom0 died or hung?)');
  else if (exitCode !== 0) {
    const stage = parser.events.find((e) => e.type === 'exit')?.stage;
    failures.push(
      stage === 'init'
        ? `dom0 init failed: ${String(parser.events.find((e) => e.type === 'exit')?.error)}`
        : `guest command exited ${exitCode}`,
    );
  }
  for (const ev of parser.events) {
    if (ev.type === 'result' && ev.ok === false) failures.push(`guest result failed: ${String(ev.name)}`);
  }
  const doneEv = parser.events.find((e) => e.type === 'done');
  if (doneEv && doneEv.ok !== true) failures.push('guest reported done with ok=false');
  if (!doneEv && opts.requireDone) failures.push('guest never reported done');

  const ok = failures.length === 0;
  if (!ok && (opts.printTailOnFailure ?? true)) {
    const lines = readFileSync(serialLog, 'latin1').replace(/\r/g, '').split('\n');
    process.stderr.write(`\n[xen-vm] FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}\n[xen-vm] last serial lines (${serialLog}):\n`);
    process.stderr.write(`${lines.slice(-60).join('\n')}\n`);
  }
  log(
    `QEMU exited after ${totalSec.toFixed(1)}s (init at ${initSec?.toFixed(1) ?? '-'}s, guest exit at ${exitSec?.toFixed(1) ?? '-'}s), ${ok ? 'ok' : 'FAILED'}`,
  );
  // The concatenated initrd is large and rebuilt on every run; keep only the serial log.
  if (!process.env.XLP_XEN_KEEP_INITRD) rmSync(initrd.path, { force: true });
  return {
    ok,
    failures,
    exitCode,
    events: parser.events,
    blobs: parser.blobs,
    xenLines,
    serialLog,
    image,
    initrdBytes: initrd.size,
    timings: { totalSec, initSec, exitSec, accel },
    qemuExit,
  };
}

/** Keeps the `keep` newest entries of a directory (by mtime). */
export function pruneOld(dir: string, keep: number, filter: (name: string) => boolean = () => true): void {
  const all = readdirSync(dir)
    .filter(filter)
    .map((name) => ({ name, t: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const e of all.slice(keep)) rmSync(join(dir, e.name), { recursive: true, force: true });
}
