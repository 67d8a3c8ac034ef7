#!/usr/bin/env node
// npm run test:asan: builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer
// (cmake-js, into build-asan/) and runs the native bridge tests against it, once per libxenctrl
// generation (the bridge-4.NN projects of vitest.config.ts), with the fake libxenctrl instrumented
// too. Node is not instrumented, so libasan is preloaded; leak checking
// is off (Node's own allocations at exit are not ours). Fails on a test failure or on any
// sanitizer report, even one that did not fail a test.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const addon = join(root, 'build-asan', 'Release', 'xen_livepatch.node');
const SUITE = 'test/native/bridge';
const REPORT = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`test:asan: ${what} failed`);
    process.exit(r.status ?? 1);
  }
}

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

run(bin('cmake-js'), ['compile', '--out', 'build-asan', '--CDXLP_SANITIZE=ON', '--log-level', 'error'], 'the instrumented build');

const needed = spawnSync('readelf', ['-d', addon], { encoding: 'utf8' }).stdout ?? '';
if (!/NEEDED.*libasan/.test(needed)) {
  console.error(`test:asan: ${addon} is not instrumented (no libasan among its NEEDED entries)`);
  process.exit(1);
}

// The suite runs some checks in child processes through dist/; rebuild it only when stale, so a
// run inside `npm test` (which has just built it) never rewrites files other tests are reading.
const dist = join(root, 'dist', 'native', 'index.js');
if (!existsSync(dist) || statSync(dist).mtimeMs < newest(join(root, 'lib'))) {
  run(bin('tsc'), ['-p', 'tsconfig.build.json'], 'the TypeScript build');
}

const libasan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
if (!libasan.startsWith('/') || !existsSync(libasan)) {
  console.error('test:asan: gcc does not know where libasan.so is');
  process.exit(1);
}

// A vitest started from inside another vitest must not think it is one of its workers.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(__)?VITEST/.test(k) && k !== 'NODE_OPTIONS'));
Object.assign(env, {
  LD_PRELOAD: libasan,
  ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:abort_on_error=1:print_summary=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  XEN_LIVEPATCH_ADDON: addon,
  XLP_FAKE_SANITIZE: '1',
});

let output = '';
const child = spawn(bin('vitest'), ['run', SUITE, '--reporter=default'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
child.stdout.on('data', (d) => {
  output += d;
  process.stdout.write(d);
});
child.stderr.on('data', (d) => {
  output += d;
  process.stderr.write(d);
});
child.on('close', (code, signal) => {
  if (REPORT.test(output)) {
    console.error('test:asan: a sanitizer reported an error (see above)');
    process.exit(1);
  }
  if (code !== 0) {
    console.error(`test:asan: the instrumented suite failed (${signal ?? `exit code ${code}`})`);
    process.exit(code || 1);
  }
  console.log(`test:asan: ${SUITE} passed under ASan+UBSan with ${addon}`);
});
