// Guest half of the two-boot lifecycle test (run.ts): `node /opt/xlp/lifecycle.mjs 1|2` in dom0.
// xlp's state directory (/var/lib/xen-livepatch, the default for root) lives on /dev/vda between
// the two boots, as a tar archive written on the raw disk. Boot 1 installs two chained patches and
// syncs; boot 2 restores the state directory, runs the boot sync as the systemd unit would, and
// checks that the stack is back: xlp's view, the hypervisor's LIST and its own `x` dump.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { done, log, result } from '/usr/lib/xlp-harness/guest.mjs';

const STAGE = '/opt/xlp';
const XLP = `${STAGE}/node_modules/.bin/xlp`;
const DISK = '/dev/vda';
const plan = JSON.parse(spawnSync('cat', [`${STAGE}/plan.json`], { encoding: 'utf8' }).stdout);
const e2e = plan.e2e;
const xen = plan.xen.buildId;
let ok = true;

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function xlp(...args) {
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.XLP_BACKEND;
  const r = spawnSync(XLP, [...args, '--json'], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = { unparsable: r.stdout };
  }
  return { code: r.status, json, err: r.stderr };
}

function check(name, fn) {
  const problems = [];
  let data = {};
  try {
    data = fn(problems) ?? {};
  } catch (e) {
    problems.push(`threw: ${e?.stack ?? e}`);
  }
  if (problems.length) ok = false;
  result(name, problems.length === 0, { problems, ...data });
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const CHAIN = ['hello', 'guarded'];
const want = (p) => e2e[p].buildId;

function waitForDisk() {
  for (let i = 0; i < 100 && !existsSync(DISK); i++) spawnSync('sleep', ['0.1']);
  if (!existsSync(DISK)) throw new Error(`${DISK} never appeared (virtio_blk)`);
}

/** The hypervisor's own `x` dump, parsed with the package's parser. */
async function dumpedStack() {
  sh('xl', ['debug-keys', 'x']);
  const ring = sh('xl', ['dmesg']).out;
  const { parseDumpTail } = await import(`${STAGE}/node_modules/xen-livepatch/dist/workflow/debug-dump.js`);
  const dump = parseDumpTail(ring);
  return (dump?.payloads ?? []).map((p) => ({ name: p.name, state: p.state, buildId: p.buildId, dependsOn: p.dependsOn }));
}

async function boot1() {
  check('boot 1: xlp install (two chained patches, given top first)', (problems) => {
    const r = xlp('install', `${STAGE}/${e2e.guarded.file}`, `${STAGE}/${e2e.hello.file}`);
    if (r.code !== 0) problems.push(`exit ${r.code}: ${r.err}`);
    if (!r.json?.changed || r.json?.xenBuildId !== xen) problems.push(`install ${JSON.stringify(r.json)}`);
    const l = xlp('list', '--installed');
    const names = l.json?.builds?.[0]?.patches?.map((p) => p.name);
    if (!same(names, CHAIN) || l.json?.builds?.[0]?.running !== true) problems.push(`list --installed ${JSON.stringify(l.json)}`);
    return { install: r.json, installed: l.json };
  });
  check('boot 1: xlp sync applies them in stack order', (problems) => {
    const r = xlp('sync', '--quiesce-timeout', '1s');
    if (r.code !== 0) problems.push(`exit ${r.code}: ${r.err}`);
    if (!r.json?.changed || !same(r.json?.after, CHAIN)) problems.push(`sync ${JSON.stringify(r.json)}`);
    return { sync: r.json };
  });
  check('boot 1: a second sync changes nothing', (problems) => {
    const r = xlp('sync');
    if (r.code !== 0 || r.json?.changed !== false || r.json?.plan?.steps?.length !== 0)
      problems.push(`second sync ${JSON.stringify(r.json)} ${r.err}`);
    return { sync: r.json };
  });
  check('boot 1: the state directory is saved to the disk', (problems) => {
    waitForDisk();
    const t = sh('tar', ['-C', '/var/lib', '-cf', DISK, 'xen-livepatch']);
    sh('sync', []);
    if (t.code !== 0) problems.push(`tar: ${t.err}`);
    const list = sh('tar', ['-tf', DISK]).out.split('\n').filter(Boolean);
    if (!list.some((f) => f.endsWith('manifest.json'))) problems.push(`the archive holds no manifest: ${JSON.stringify(list)}`);
    return { files: list.length };
  });
}

async function boot2() {
  check('boot 2: the state directory comes back from the disk; nothing is loaded yet', (problems) => {
    waitForDisk();
    sh('mkdir', ['-p', '/var/lib']);
    const t = sh('tar', ['-C', '/var/lib', '-xpf', DISK]);
    if (t.code !== 0) problems.push(`tar: ${t.err}`);
    const l = xlp('list');
    if (l.code !== 0 || l.json?.payloads?.length !== 0) problems.push(`after the reboot: ${JSON.stringify(l.json)} ${l.err}`);
    return {};
  });
  check('boot 2: xlp sync --boot restores the stack', (problems) => {
    const r = xlp('sync', '--boot', '--quiesce-timeout', '1s');
    if (r.code !== 0) problems.push(`exit ${r.code}: ${r.err}`);
    if (!r.json?.changed || !same(r.json?.after, CHAIN)) problems.push(`boot sync ${JSON.stringify(r.json)}`);
    return { sync: r.json };
  });
  check('boot 2: xlp stack shows the installed build-ids, in order', (problems) => {
    const s = xlp('stack');
    const got = (s.json?.applied ?? []).map((e) => `${e.name}:${e.buildId}`);
    const expected = CHAIN.map((n) => `${n}:${want(n)}`);
    if (!same(got, expected)) problems.push(`xlp stack ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    return { stack: s.json };
  });
  const dump = await dumpedStack();
  check("boot 2: the hypervisor's own x dump", (problems) => {
    const got = dump.map((p) => `${p.name}:${p.state}:${p.buildId}:${p.dependsOn}`);
    const expected = [`hello:APPLIED:${want('hello')}:${xen}`, `guarded:APPLIED:${want('guarded')}:${want('hello')}`];
    if (!same(got, expected)) problems.push(`x dump ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    return { dump };
  });
  check('boot 2: a second sync changes nothing; status reports no drift and the boot sync', (problems) => {
    const r = xlp('sync');
    if (r.code !== 0 || r.json?.changed !== false) problems.push(`second sync ${JSON.stringify(r.json)} ${r.err}`);
    const st = xlp('status');
    const j = st.json;
    if (
      st.code !== 0 ||
      !same(j?.stack?.applied, CHAIN) ||
      j?.drift?.installedNotApplied?.length ||
      j?.drift?.appliedNotInstalled?.length ||
      j?.lastSync?.result !== 'ok' ||
      j?.bootGuard?.tripped
    ) {
      problems.push(`status ${JSON.stringify(j)} ${st.err}`);
    }
    return { status: j };
  });
}

const phase = process.argv[2];
log(`lifecycle boot ${phase}`);
try {
  if (phase === '1') await boot1();
  else if (phase === '2') await boot2();
  else throw new Error(`phase ${phase}?`);
} catch (e) {
  ok = false;
  result(`boot ${phase}: threw`, false, { problems: [String(e?.stack ?? e)] });
}
done(ok);
