// Smoke guest, run in dom0 as `node /opt/xlp/smoke.mjs`: drives the real hypervisor with the C
// tool (xen-livepatch) and xl, and reports every step over the harness's serial protocol.
// The host (smoke/run.ts) checks the console lines of each step.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { done, emit, result, sendFile } from '/usr/lib/xlp-harness/guest.mjs';

const plan = JSON.parse(readFileSync('/opt/xlp/plan.json', 'utf8'));
const P = (name) => `/opt/xlp/payloads/${name}.livepatch`;
let allOk = true;

function sh(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), ms: Math.round(ms) };
}
const xlp = (...args) => sh('xen-livepatch', args);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const readSys = (p) => readFileSync(`/sys/hypervisor/${p}`, 'utf8').trim();

/** State of one payload in `xen-livepatch list` ("" when absent). */
function listed(name) {
  const out = xlp('list').out;
  const line = out.split('\n').find((l) => l.startsWith(name.padEnd(40)));
  return line
    ? line
        .slice(40)
        .replace(/^\|\s*/, '')
        .trim()
    : '';
}

/**
 * Runs one step: announces it (so the host can attribute the console lines that follow), runs
 * `fn`, which returns {ok, ...data}, and reports the result.
 */
function step(name, fn) {
  emit({ type: 'step', name });
  let data;
  const t0 = process.hrtime.bigint();
  try {
    data = fn();
  } catch (e) {
    data = { ok: false, error: String(e?.stack ?? e) };
  }
  data.stepMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  sleep(150); // let the hypervisor's console lines for this step reach the serial first
  if (!data.ok) allOk = false;
  result(name, data.ok, data);
  return data;
}

const expectCode = (r, code, text) => r.code === code && (!text || r.out.includes(text));

const extra0 = readSys('version/extra');
const minor0 = readSys('version/minor');

step('list-empty', () => {
  const r = xlp('list');
  return { ok: expectCode(r, 0, 'Nothing to list'), r };
});

step('build-id', () => {
  const raw = readFileSync('/sys/hypervisor/properties/buildid');
  const hex = raw.toString('hex');
  return { ok: hex === plan.xenBuildId, sysfs: hex, sysfsBytes: raw.length, expected: plan.xenBuildId };
});

step('xensyms', () => {
  const text = readFileSync('/proc/xen/xensyms');
  sendFile('xensyms', '/proc/xen/xensyms');
  return { ok: text.length > 0, bytes: text.length, lines: text.toString().split('\n').length - 1 };
});

step('versions', () => ({ ok: true, extra: extra0, minor: minor0 }));

// -- upload / apply / stack / x dump / not-top revert / replace / revert / unload
step('smoke-upload', () => {
  const r = xlp('upload', 'xlp_smoke', P('xlp_smoke'));
  return { ok: expectCode(r, 0, 'completed') && listed('xlp_smoke').startsWith('CHECKED'), r, list: xlp('list').out };
});
step('smoke-apply', () => {
  const r = xlp('apply', 'xlp_smoke');
  const extra = readSys('version/extra');
  return {
    ok: expectCode(r, 0, 'completed') && extra === plan.extras.xlp_smoke && listed('xlp_smoke').startsWith('APPLIED'),
    r,
    extra,
    list: xlp('list').out,
  };
});
step('stack-upload-apply', () => {
  const u = xlp('upload', 'xlp_stack', P('xlp_stack'));
  const a = xlp('apply', 'xlp_stack');
  return { ok: expectCode(u, 0) && expectCode(a, 0, 'completed') && listed('xlp_stack').startsWith('APPLIED'), u, a };
});
step('debug-key-x-stacked', () => {
  const r = sh('xl', ['debug-keys', 'x']);
  sleep(300);
  return { ok: r.code === 0, r };
});
step('revert-not-top', () => {
  const r = xlp('revert', 'xlp_smoke');
  return { ok: r.code !== 0 && r.out.includes('Error 16') && listed('xlp_smoke').startsWith('APPLIED'), r };
});
step('stack-revert-unload', () => {
  const r = xlp('revert', 'xlp_stack');
  const u = xlp('unload', 'xlp_stack');
  return { ok: expectCode(r, 0, 'completed') && expectCode(u, 0, 'completed') && listed('xlp_stack') === '', r, u };
});
step('replace', () => {
  const u = xlp('upload', 'xlp_replace', P('xlp_replace'));
  const r = xlp('replace', 'xlp_replace');
  const extra = readSys('version/extra');
  const list = xlp('list').out;
  return {
    ok:
      expectCode(u, 0) &&
      expectCode(r, 0, 'completed') &&
      extra === plan.extras.xlp_replace &&
      listed('xlp_smoke').startsWith('CHECKED') &&
      listed('xlp_replace').startsWith('APPLIED'),
    u,
    r,
    extra,
    list,
  };
});
step('debug-key-x-replaced', () => {
  const r = sh('xl', ['debug-keys', 'x']);
  sleep(300);
  return { ok: r.code === 0, r };
});
step('replace-revert-unload', () => {
  const r = xlp('revert', 'xlp_replace');
  const extra = readSys('version/extra');
  const u1 = xlp('unload', 'xlp_replace');
  const u2 = xlp('unload', 'xlp_smoke');
  return {
    ok:
      expectCode(r, 0, 'completed') &&
      extra === extra0 &&
      expectCode(u1, 0) &&
      expectCode(u2, 0) &&
      xlp('list').out.includes('Nothing to list'),
    r,
    extra,
    u1,
    u2,
  };
});

// -- a pre-apply hook's veto
step('veto', () => {
  const u = xlp('upload', 'xlp_veto', P('xlp_veto'));
  const a = xlp('apply', 'xlp_veto');
  const state = listed('xlp_veto');
  const un = xlp('unload', 'xlp_veto');
  return {
    ok:
      expectCode(u, 0) &&
      a.code !== 0 &&
      a.out.includes('Error 22') &&
      state.startsWith('CHECKED (22, Invalid argument)') &&
      expectCode(un, 0),
    u,
    a,
    state,
    un,
  };
});

// -- NOP patching at an absolute address taken from xensyms
if (plan.nop) {
  step('nop', () => {
    const u = xlp('upload', 'xlp_nop', P('xlp_nop'));
    const a = xlp('apply', 'xlp_nop');
    const minorPatched = readSys('version/minor');
    const r = xlp('revert', 'xlp_nop');
    const minorAfter = readSys('version/minor');
    const un = xlp('unload', 'xlp_nop');
    return {
      ok: expectCode(u, 0) && expectCode(a, 0, 'completed') && expectCode(r, 0, 'completed') && minorAfter === minor0 && expectCode(un, 0),
      u,
      a,
      minorPatched,
      r,
      minorAfter,
      un,
    };
  });
}

// -- expectations: bytes of xen_extra_version read from the image on the host
step('expect-match', () => {
  const u = xlp('upload', 'xlp_expect', P('xlp_expect'));
  const a = xlp('apply', 'xlp_expect');
  const extra = readSys('version/extra');
  const r = xlp('revert', 'xlp_expect');
  const un = xlp('unload', 'xlp_expect');
  return {
    ok: expectCode(u, 0) && expectCode(a, 0, 'completed') && extra === plan.extras.xlp_expect && expectCode(r, 0) && expectCode(un, 0),
    u,
    a,
    extra,
    r,
    un,
  };
});
step('expect-mismatch', () => {
  const u = xlp('upload', 'xlp_expect_bad', P('xlp_expect_bad'));
  const a = xlp('apply', 'xlp_expect_bad');
  const state = listed('xlp_expect_bad');
  const un = xlp('unload', 'xlp_expect_bad');
  return {
    ok: expectCode(u, 0) && a.code !== 0 && a.out.includes('Error 22') && state.startsWith('CHECKED') && expectCode(un, 0),
    u,
    a,
    state,
    un,
  };
});

// -- action hooks without the hypervisor's struct layout
step('action-hooks', () => {
  const u = xlp('upload', 'xlp_action', P('xlp_action'));
  if (u.code !== 0) return { ok: false, u };
  const a = xlp('apply', 'xlp_action');
  const extra = readSys('version/extra');
  const r = xlp('revert', 'xlp_action');
  const extraAfter = readSys('version/extra');
  const un = xlp('unload', 'xlp_action');
  return {
    ok:
      expectCode(a, 0, 'completed') &&
      extra === plan.extras.xlp_action &&
      expectCode(r, 0, 'completed') &&
      extraAfter === extra0 &&
      expectCode(un, 0),
    u,
    a,
    extra,
    r,
    extraAfter,
    un,
  };
});
step('norevert-hooks', () => {
  const u = xlp('upload', 'xlp_norevert', P('xlp_norevert'));
  if (u.code !== 0) return { ok: false, u };
  const a = xlp('apply', 'xlp_norevert');
  const extra = readSys('version/extra');
  const r = xlp('revert', 'xlp_norevert');
  const state = listed('xlp_norevert');
  const extraAfter = readSys('version/extra');
  const un = xlp('unload', 'xlp_norevert');
  return {
    ok:
      expectCode(a, 0, 'completed') &&
      extra === plan.extras.xlp_norevert &&
      r.code !== 0 &&
      r.out.includes('Error 22') &&
      state.startsWith('CHECKED (22') &&
      extraAfter === extra0 &&
      expectCode(un, 0),
    u,
    a,
    extra,
    r,
    state,
    extraAfter,
    un,
  };
});

// -- upload-time refusals of the hypervisor build-id dependency
step('no-xen-depends', () => {
  const u = xlp('upload', 'xlp_noxen', P('xlp_noxen'));
  return { ok: u.code !== 0 && u.out.includes('Error 22') && listed('xlp_noxen') === '', u };
});
step('other-xen-depends', () => {
  const u = xlp('upload', 'xlp_otherxen', P('xlp_otherxen'));
  return { ok: u.code !== 0 && u.out.includes('Error 22') && listed('xlp_otherxen') === '', u };
});

step('debug-key-x-empty', () => {
  const r = sh('xl', ['debug-keys', 'x']);
  sleep(300);
  return { ok: r.code === 0 && xlp('list').out.includes('Nothing to list'), r };
});

done(allOk);
