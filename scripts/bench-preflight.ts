/**
 * `npm run bench:preflight`: the whole-process time and peak memory of `xlp check` against
 * `readelf -W -S -s -r -n` (binutils) on the same files, side by side in one run: a large
 * synthetic payload (~10 MB, 100k symbols, 200k relocations) and a typical small one.
 *   XLP_BENCH_RUNS  runs per tool and file (default 7; the median is reported)
 * Peak memory is the maximum RSS from GNU time (/usr/bin/time -f %M). Node itself needs a fixed
 * amount before reading anything, so the report also gives RSS above `xlp --version` (the same
 * process doing no work), which is what the "3x the payload size" goal is about. `xlp check` is
 * also run from tsc's module files (scripts/bench/xlp-modules.mjs), the layout before the bundle.
 * The load average is printed: on a busy machine only the ratios of one run mean anything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from '../test/fixtures/catalogue.js';
import { buildLargePayload } from './bench/large-payload.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.XLP_BENCH_RUNS ?? 7);
const GNU_TIME = '/usr/bin/time';
const hasTime = existsSync(GNU_TIME);

interface Sample {
  readonly ms: number;
  readonly rssKb: number | null;
}

/** A command to time, and how it must end: exit 0, unless `expect` says otherwise. */
type Contender = readonly [cmd: string, args: readonly string[], expect?: { readonly status: number; readonly stdout: RegExp }];

function once(cmd: string, args: readonly string[], expect: Contender[2] = { status: 0, stdout: /(?:)/ }): Sample {
  const argv = hasTime ? [GNU_TIME, '-f', '%M', cmd, ...args] : [cmd, ...args];
  const t0 = performance.now();
  // Output nobody checks goes to /dev/null, as before (readelf's is tens of MB on the large payload).
  const checked = expect.stdout.source !== '(?:)';
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    stdio: ['ignore', checked ? 'pipe' : 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  // A contender that crashed or refused would look fast: every run must end as expected.
  if (r.status !== expect.status || (checked && !expect.stdout.test(r.stdout))) {
    console.error(
      `bench:preflight: \`${[cmd, ...args].join(' ')}\` exited ${r.status ?? r.signal} (expected ${expect.status}${checked ? ` and /${expect.stdout.source}/ on stdout` : ''}):\n${r.stderr.slice(-2000)}`,
    );
    process.exit(1);
  }
  const last = r.stderr.trim().split('\n').pop() ?? '';
  return { ms, rssKb: hasTime && /^\d+$/.test(last) ? Number(last) : null };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Measure {
  readonly ms: number;
  readonly rssMb: number | null;
}

/** Runs each command RUNS times, interleaved so load changes hit both alike. */
function measure(commands: readonly Contender[]): Measure[] {
  const samples: Sample[][] = commands.map(() => []);
  for (const c of commands) once(...c); // warm the page cache (and node's compile cache) for every contender
  for (let i = 0; i < RUNS; i++) commands.forEach((c, k) => samples[k]!.push(once(...c)));
  return samples.map((s) => ({
    ms: median(s.map((x) => x.ms)),
    rssMb: s[0]!.rssKb === null ? null : median(s.map((x) => x.rssKb!)) / 1024,
  }));
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const fmtMb = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} MB`);

console.log('bench:preflight: building TypeScript and payloads...');
for (const [cmd, args] of [
  [join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']],
  [process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')]], // the bundled xlp that bin/xlp.js runs
] as const) {
  const built = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const large = await buildLargePayload();
const small = (await fixture('hooks_load_unload')).path;
// The large payload is over Xen's 2 MiB limit: its check ends with exit 1 and that one error, and
// nothing else passes for it (a crash also exits 1, without the report).
const xlp = (file: string, entry = join(ROOT, 'bin', 'xlp.js')): Contender => [
  process.execPath,
  [entry, 'check', '--offline', file],
  file === large
    ? { status: 1, stdout: /UPLOAD would fail with EINVAL \(U3 payload-too-large\)\. 1 error,/ }
    : { status: 0, stdout: /ok: no errors/ },
];
const readelf = (file: string): Contender => ['readelf', ['-W', '-S', '-s', '-r', '-n', file]];

/** Time of reading and checking inside one fresh process (no CLI, no output), as it prints it. */
function inProcess(file: string): number {
  const script = `const t0=performance.now();const{preflight}=await import(${JSON.stringify(join(ROOT, 'dist', 'preflight', 'index.js'))});const fs=await import('node:fs');const t1=performance.now();preflight(fs.readFileSync(${JSON.stringify(file)}),{name:'bench'});console.log(performance.now()-t1, t1-t0)`;
  const runs: number[] = [];
  const imports: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const [a, b] = r.stdout.trim().split(' ').map(Number);
    if (r.status !== 0 || !Number.isFinite(a) || !Number.isFinite(b)) {
      console.error(`bench:preflight: the in-process preflight of ${file} exited ${r.status ?? r.signal}:\n${r.stderr.slice(-2000)}`);
      process.exit(1);
    }
    runs.push(a!);
    imports.push(b!);
  }
  lastImportMs = median(imports);
  return median(runs);
}
let lastImportMs = 0;

const [baseline] = measure([[process.execPath, [join(ROOT, 'bin', 'xlp.js'), '--version']]]);
console.log(
  `\nload average ${loadavg()[0]!.toFixed(1)}. ${RUNS} runs each, medians. Node + xlp doing nothing (xlp --version): ${baseline!.ms.toFixed(0)} ms, ${fmtMb(baseline!.rssMb)} RSS.${hasTime ? '' : ' (no /usr/bin/time: memory not measured)'}\n`,
);

const rows: string[][] = [['payload', 'size', 'tool', 'time', 'peak RSS', 'RSS above node', 'vs payload']];
const verdicts: string[] = [];
for (const [label, file] of [
  ['large (synthetic)', large],
  ['small (hooks_load_unload)', small],
] as const) {
  const size = statSync(file).size;
  // Also the same xlp from tsc's module files (the layout before the bundle), in the same rounds.
  const [ours, theirs, modules] = measure([xlp(file), readelf(file), xlp(file, join(ROOT, 'scripts', 'bench', 'xlp-modules.mjs'))]);
  const above = ours!.rssMb === null || baseline!.rssMb === null ? null : Math.max(0, ours!.rssMb - baseline!.rssMb);
  rows.push([
    label,
    mb(size),
    'xlp check',
    `${ours!.ms.toFixed(0)} ms`,
    fmtMb(ours!.rssMb),
    fmtMb(above),
    above === null ? '' : `${((above * 1048576) / size).toFixed(2)}x`,
  ]);
  rows.push(['', '', '  (the same from dist/cli modules)', `${modules!.ms.toFixed(0)} ms`, fmtMb(modules!.rssMb), '', '']);
  rows.push([
    '',
    '',
    'readelf -W -S -s -r -n',
    `${theirs!.ms.toFixed(0)} ms`,
    fmtMb(theirs!.rssMb),
    '',
    theirs!.rssMb === null ? '' : `${((theirs!.rssMb * 1048576) / size).toFixed(2)}x`,
  ]);
  const parse = inProcess(file);
  rows.push(['', '', `(of which read + preflight() ${parse.toFixed(0)} ms, module imports ${lastImportMs.toFixed(0)} ms)`, '', '', '', '']);
  rows.push([
    '',
    '',
    'ratio xlp / readelf',
    `${(ours!.ms / theirs!.ms).toFixed(2)}x`,
    ours!.rssMb && theirs!.rssMb ? `${(ours!.rssMb / theirs!.rssMb).toFixed(2)}x` : '',
    '',
    '',
  ]);
  if (file === large) {
    verdicts.push(
      `faster than readelf on the large payload: ${ours!.ms < theirs!.ms ? 'yes' : 'NO'} (${ours!.ms.toFixed(0)} vs ${theirs!.ms.toFixed(0)} ms whole process; node itself needs ${baseline!.ms.toFixed(0)} ms to start the CLI and do nothing)`,
    );
    if (above !== null)
      verdicts.push(
        `memory under 3x the payload size (RSS above node's baseline): ${above * 1048576 < 3 * size ? 'yes' : 'NO'} (${above.toFixed(1)} MB for ${mb(size)}; total RSS ${fmtMb(ours!.rssMb)})`,
      );
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows)
  console.log(
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
console.log('');
for (const v of verdicts) console.log(v);
