// The harness's own end-to-end test (npm run test:xen:smoke): builds the smoke payloads on the
// host for the packaged hypervisor, boots Xen + dom0, runs smoke/guest.mjs there, and checks
// every step's result and the hypervisor's console lines. Writes a JSON report to the cache.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HARNESS_DIR, cacheDir, log } from '../common.js';
import { runInXen } from '../boot.js';
import { fetchPackages } from '../fetch.js';
import { readImageBytes, xenImage } from '../image.js';
import { buildPayloads, type ChainSpec } from '../../payloads/builder.js';
import { ensureXensyms, gapToNext, parseXensyms, storeXensyms, symbol } from '../xensyms.js';

const SRC = join(HARNESS_DIR, 'smoke', 'payloads');
const NEW_SIZE = '16'; // upper bound of the tiny replacement functions (endbr64 + lea + ret)

async function main(): Promise<number> {
  const t0 = Date.now();
  const fetched = fetchPackages();
  const image = xenImage(fetched);
  const syms = await ensureXensyms(image, fetched);
  const xen = image.buildId;

  // Facts for the payloads, all read from the image or its symbol table.
  const extraSym = symbol(syms, 'xen_extra_version');
  const extraOldSize = String(gapToNext(syms, 'xen_extra_version'));
  const expectBytes = readImageBytes(image, extraSym.addr, 8);
  const noteSym = symbol(syms, '__note_gnu_build_id_start');
  const noteBytes = readImageBytes(image, noteSym.addr, 36);
  const noteOk =
    noteBytes.subarray(0, 16).equals(Buffer.from('040000001400000003000000474e5500', 'hex')) &&
    noteBytes.subarray(16).toString('hex') === xen;
  if (!noteOk) throw new Error('virtual-address -> image-offset map failed its self-check on __note_gnu_build_id_start');
  const minorSym = symbol(syms, 'xen_minor_version');

  const stage = cacheDir('smoke-stage');
  rmSync(stage, { recursive: true, force: true });
  const out = join(stage, 'payloads');
  mkdirSync(out, { recursive: true });
  const extras: Record<string, string> = {
    xlp_smoke: '-xlp-smoke',
    xlp_replace: '-xlp-replace',
    xlp_expect: '-xlp-expect',
    xlp_action: '-xlp-action',
    xlp_norevert: '-xlp-norevert',
  };
  // Parameters of the smoke sources (-D...), on top of the shared scripts/payloads/livepatch.h.
  const defs = (name: string, more: Record<string, string> = {}) => ({
    XLP_PAYLOAD_NAME: `"${name}"`,
    XLP_EXTRA: `"${extras[name] ?? ''}"`,
    XLP_NEW_SIZE: NEW_SIZE,
    XLP_OLD_SIZE: extraOldSize,
    ...more,
  });
  const one = (name: string, src: string, more: Record<string, string> = {}, depends?: ChainSpec['depends']): ChainSpec => ({
    name,
    sources: [join(SRC, src)],
    xenDepends: xen,
    ...(depends === undefined ? {} : { depends }),
    defines: defs(name, more),
  });
  const built = await buildPayloads(
    [
      one('xlp_smoke', 'xlp_smoke.c'),
      one('xlp_stack', 'xlp_stack.c', {}, { on: 'xlp_smoke' }),
      one('xlp_replace', 'xlp_replace.c'),
      one('xlp_veto', 'xlp_veto.c'),
      one('xlp_nop', 'xlp_nop.c', {
        XLP_NOP_SYMBOL: '"xen_minor_version"',
        XLP_NOP_ADDR: `0x${minorSym.addr.toString(16)}UL`,
        XLP_NOP_LEN: '5',
        XLP_OLD_SIZE: String(gapToNext(syms, 'xen_minor_version')),
      }),
      one('xlp_expect', 'xlp_expect.c', {
        XLP_EXPECT_LEN: '8',
        XLP_EXPECT_BYTES: [...expectBytes].map((b) => `0x${b.toString(16)}`).join(','),
      }),
      one('xlp_expect_bad', 'xlp_expect.c', {
        XLP_EXTRA: '"-xlp-expect-bad"',
        XLP_EXPECT_LEN: '6',
        XLP_EXPECT_BYTES: '0xde,0xad,0xc0,0xde,0xba,0xbe',
      }),
      one('xlp_action', 'xlp_action.c'),
      { ...one('xlp_noxen', 'xlp_stack.c'), xenDepends: null, depends: xen },
      { ...one('xlp_otherxen', 'xlp_stack.c'), xenDepends: 'f'.repeat(40), depends: xen },
      one('xlp_norevert', 'xlp_norevert.c'),
    ],
    { cacheDir: cacheDir('payloads') },
  );
  const payloads = [...built.values()];
  for (const p of payloads) copyFileSync(p.path, join(out, `${p.name}.livepatch`));
  writeFileSync(join(stage, 'plan.json'), JSON.stringify({ xenBuildId: xen, extras, nop: true }, null, 2));
  copyFileSync(join(HARNESS_DIR, 'smoke', 'guest.mjs'), join(stage, 'smoke.mjs'));
  const ids = Object.fromEntries(payloads.map((p) => [p.name, p.buildId]));

  // Console lines each step must show (substrings of Xen's lines, "(XEN) " stripped).
  const L = 'livepatch: ';
  const expectConsole: Record<string, string[]> = {
    'smoke-apply': [`${L}xlp_smoke: Applying 1 functions`, 'xlp-smoke: load hook ran', `${L}xlp_smoke finished APPLY with rc=0`],
    'stack-upload-apply': [`${L}xlp_stack: Applying 0 functions`, 'xlp-stack: load hook ran', `${L}xlp_stack finished APPLY with rc=0`],
    'debug-key-x-stacked': [
      "'x' pressed - Dumping all livepatch patches",
      `build-id: ${xen}`,
      ' name=xlp_smoke state=APPLIED(2) ',
      ' name=xlp_stack state=APPLIED(2) ',
      `build-id=${ids.xlp_smoke}`,
      `build-id=${ids.xlp_stack}`,
      `depend-on=${ids.xlp_smoke}`,
      `depend-on=${xen}`,
      `depend-on-xen=${xen}`,
      `    xen_extra_version patch ffff82d0`,
    ],
    'revert-not-top': [`${L}xlp_smoke: can't unload. Top is xlp_stack`],
    'stack-revert-unload': [`${L}xlp_stack: Reverting`, `${L}xlp_stack finished REVERT with rc=0`],
    replace: [
      `${L}xlp_smoke: Reverting`,
      'xlp-smoke: unload hook ran',
      `${L}xlp_replace: Applying 1 functions`,
      `${L}xlp_replace finished REPLACE with rc=0`,
    ],
    'debug-key-x-replaced': [' name=xlp_replace state=APPLIED(2) ', ' name=xlp_smoke state=CHECKED(1) '],
    'replace-revert-unload': [`${L}xlp_replace: Reverting`, `${L}xlp_replace finished REVERT with rc=0`],
    veto: [
      `${L}xlp_veto: Calling pre-apply hook function`,
      'xlp-veto: pre-apply hook vetoes with -22',
      `${L}xlp_veto: pre-apply hook failed (rc=-22), aborting!`,
    ],
    nop: [`${L}xlp_nop: Applying 1 functions`, `${L}xlp_nop finished APPLY with rc=0`, `${L}xlp_nop finished REVERT with rc=0`],
    'expect-match': [`${L}xlp_expect: Verifying enabled expectations for all functions`, `${L}xlp_expect finished APPLY with rc=0`],
    'expect-mismatch': [
      `${L}xen_extra_version: expectation failed: expected:deadc0debabe, actual:${expectBytes.subarray(0, 6).toString('hex')}`,
    ],
    'action-hooks': [
      `${L}xlp_action: Calling apply action hook function`,
      'xlp-action: apply action hook calls apply_payload',
      `${L}xlp_action finished APPLY with rc=0`,
      `${L}xlp_action: Calling revert action hook function`,
      `${L}xlp_action finished REVERT with rc=0`,
    ],
    'norevert-hooks': [
      `${L}xlp_norevert: Calling revert action hook function`,
      'xlp-norevert: revert action hook refuses with -22',
      `${L}xlp_norevert finished REVERT with rc=-22`,
      'xlp-norevert: post-revert hook: revert_payload rc=0',
    ],
    'no-xen-depends': [`${L}xlp_noxen: .livepatch.xen_depends is missing`],
    'other-xen-depends': [`${L}xlp_otherxen: check against hypervisor build-id failed`],
    'debug-key-x-empty': ["'x' pressed - Dumping all livepatch patches", `build-id: ${xen}`],
  };

  // Run it, attributing Xen's console lines to the step the guest announced last.
  const stepLines = new Map<string, string[]>();
  let current = 'boot';
  const r = await runInXen({
    fetched,
    stagingDir: stage,
    command: ['node', '/opt/xlp/smoke.mjs'],
    requireDone: true,
    onEvent: (ev) => {
      if (ev.type === 'step') current = String(ev.name);
      if (ev.type === 'result') log(`${ev.ok ? 'ok  ' : 'FAIL'} ${String(ev.name)}`);
    },
    onLine: (line) => {
      if (!line.startsWith('(XEN) ')) return;
      const list = stepLines.get(current) ?? [];
      list.push(line.slice(6));
      stepLines.set(current, list);
    },
  });

  const failures = [...r.failures];
  for (const [stepName, wanted] of Object.entries(expectConsole)) {
    const got = stepLines.get(stepName) ?? [];
    for (const w of wanted)
      if (!got.some((l) => l.includes(w))) failures.push(`step ${stepName}: no console line containing ${JSON.stringify(w)}`);
  }
  const blob = r.blobs.get('xensyms');
  let xensymsInfo: Record<string, unknown> = { received: false };
  if (!blob) failures.push('xensyms blob not received');
  else {
    const stored = storeXensyms(blob.data, image);
    const parsed = parseXensyms(blob.data.toString('utf8'));
    xensymsInfo = { received: true, bytes: blob.data.length, symbols: parsed.length, path: stored.path, matchedCache: stored.matchedCache };
    if (stored.matchedCache === false) failures.push('xensyms from dom0 differs from the cached copy for this image');
  }
  const steps = r.events
    .filter((e) => e.type === 'result')
    .map((e) => ({ ...e, ok: e.ok === true, xen: stepLines.get(String(e.name)) ?? [] }));
  const report = {
    ok: failures.length === 0,
    failures,
    image: { path: image.path, sha256: image.sha256, buildId: xen, version: image.version },
    facts: {
      xen_extra_version: { addr: `0x${extraSym.addr.toString(16)}`, first8: expectBytes.toString('hex'), gapToNext: Number(extraOldSize) },
      xen_minor_version: { addr: `0x${minorSym.addr.toString(16)}`, gapToNext: gapToNext(syms, 'xen_minor_version') },
      payloadBuildIds: ids,
    },
    xensyms: xensymsInfo,
    timings: { ...r.timings, wholeSmokeSec: (Date.now() - t0) / 1000 },
    initrdBytes: r.initrdBytes,
    serialLog: r.serialLog,
    steps,
    bootLines: stepLines.get('boot')?.length ?? 0,
  };
  const reportPath = join(cacheDir(), 'smoke-report.json');
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  log(`report: ${reportPath}`);
  log(`boot-to-poweroff ${r.timings.totalSec.toFixed(1)}s (${r.timings.accel}), initrd ${(r.initrdBytes / 1048576).toFixed(1)} MiB`);
  const passed = steps.filter((s) => s.ok === true).length;
  if (failures.length) {
    process.stderr.write(`\nsmoke FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
    if (!r.ok) {
      /* runInXen already printed the serial tail */
    }
  }
  console.log(`${passed} passed, ${steps.length - passed + (failures.length && passed === steps.length ? 1 : 0)} failed`);
  return failures.length ? 1 : 0;
}

main().then(
  (c) => process.exit(c),
  (e: unknown) => {
    process.stderr.write(`[xen-vm] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
