/**
 * `npm run test:ansible`: the collection built with ansible-galaxy and the docs' rollout and
 * audit playbooks run by real ansible-playbook (Debian 12's 2.14 and Debian 13's 2.19) against
 * nine local hosts, each with its own mock hypervisor and xlp state, on two Xen builds. Every
 * claim is checked from the hosts' own states afterwards (xlp stack/list/list --installed and a
 * digest of their state files), not from what the modules reported.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { assertBuilt } from '../cli/support/xlp.js';
import { type AnsibleCore, systemAnsible, trixieAnsible } from './support/ansible-core.js';
import { AUDIT, buildPayloadSet, Fleet, type Host, type PayloadSet, ROLLOUT, XEN_A, XEN_B } from './support/fleet.js';

const CORES: readonly [string, () => AnsibleCore][] = [
  ['Debian 12 ansible-core 2.14', systemAnsible],
  ['Debian 13 ansible-core 2.19', trixieAnsible],
];

// Inventory order; serial [1, 3, "50%"] of 9 makes batches [a1] [a2 b1 a3] [a4 b2 a5 b3] [a6].
const LAYOUT: readonly [string, string][] = [
  ['a1', XEN_A],
  ['a2', XEN_A],
  ['b1', XEN_B],
  ['a3', XEN_A],
  ['a4', XEN_A],
  ['b2', XEN_B],
  ['a5', XEN_A],
  ['b3', XEN_B],
  ['a6', XEN_A],
];
const VETO_HOST = 'a3';
const VETO_LINE = '(XEN) livepatch: guarded: pre-apply hook failed (rc=-22), aborting!';
const LATER = ['a4', 'b2', 'a5', 'b3', 'a6'];

/** The `msg` of a host's failed task, from the default callback's `fatal: [host]: FAILED! => {...}` line. */
function failureOf(out: string, host: string): string {
  const line = out.split('\n').find((l) => l.startsWith(`fatal: [${host}]: FAILED! => `));
  if (!line) throw new Error(`no failed task for ${host} in:\n${out}`);
  return (JSON.parse(line.slice(line.indexOf('=> ') + 3)) as { msg: string }).msg;
}

/** A one-task play for `hosts`, with the hosts' xlp environment. */
function writePlay(fleet: Fleet, file: string, hosts: string, task: Record<string, unknown>): string {
  const play = join(fleet.dir, file);
  writeFileSync(play, JSON.stringify([{ hosts, gather_facts: false, environment: '{{ livepatch_environment }}', tasks: [task] }]));
  return play;
}

describe.each(CORES)('%s', (_label, locate) => {
  let fleet: Fleet;
  let core: AnsibleCore;
  let first: PayloadSet;
  let second: PayloadSet;
  let tarball: string;
  const host = (name: string): Host => fleet.hosts.find((h) => h.name === name)!;
  const xenHosts = () => fleet.hosts.filter((h) => h.xen);
  const expectStack = async (h: Host, names: string[], set: PayloadSet) => {
    expect(await fleet.stack(h), h.name).toEqual(names.map((name) => ({ name, buildId: set.buildIds.get(`${h.xen}/${name}`) })));
  };

  beforeAll(async () => {
    assertBuilt();
    core = locate();
    const dir = scratchDir('xlp-ansible-');
    fleet = new Fleet(dir, core);
    first = await buildPayloadSet(join(dir, 'release-1'), ['hello']);
    second = await buildPayloadSet(join(dir, 'release-2'), ['hello', 'guarded']);
    tarball = await fleet.installCollection();
    for (const [name, xen] of LAYOUT) await fleet.addHost(name, xen);
    // Xen unavailable: the native backend on a machine without Xen. No xlp: PATH without it.
    fleet.addBrokenHost('noxen', { env: { XLP_BACKEND: 'native' } });
    fleet.addBrokenHost('noxlp', { env: { PATH: '/usr/bin:/bin' } });
    fleet.writeInventory();
  });

  test('ansible-galaxy builds the collection with both modules', () => {
    expect(core.version).toMatch(/^2\.(14|19)\./);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(expect.arrayContaining(['plugins/modules/livepatch.js', 'plugins/modules/livepatch_status.js', 'MANIFEST.json']));
  });

  test('ansible-doc documents exactly the options each module takes, with their defaults', async () => {
    const documented = await fleet.doc('livepatch');
    expect(Object.keys(documented.options).sort()).toEqual([
      'name',
      'payloads',
      'prune',
      'replace_installed',
      'state',
      'state_dir',
      'with_dependants',
      'xen_build_id',
      'xlp_path',
    ]);
    expect(documented.options).toMatchObject({
      state: { default: 'synced' },
      xlp_path: { default: 'xlp' },
      prune: { default: false },
      replace_installed: { default: false },
      with_dependants: { default: false },
    });
    // The module's own list, from its answer to an option it does not know.
    const refusal = await fleet.playbook(writePlay(fleet, 'unknown.yml', 'a1', { 'xen_livepatch.xlp.livepatch': { colour: 'blue' } }));
    const supported = /^unsupported option\(s\): colour; supported: (.*)$/.exec(failureOf(refusal.out, 'a1'))![1]!.split(', ');
    expect(supported.sort()).toEqual(Object.keys(documented.options).sort());
    expect(Object.keys((await fleet.doc('livepatch_status')).options).sort()).toEqual(['state_dir', 'xlp_path']);
  });

  test("--check --diff reports each host's planned stack and changes no host", async () => {
    const before = xenHosts().map((h) => fleet.fingerprint(h));
    const r = await fleet.playbook(ROLLOUT, ['-e', `livepatch_source=${first.dir}`, '--check', '--diff']);
    expect(r.code, r.out).toBe(0);
    expect(xenHosts().map((h) => fleet.fingerprint(h))).toEqual(before);
    for (const h of xenHosts()) {
      expect(await fleet.stack(h)).toEqual([]);
      expect(r.recap.get(h.name)?.failed, h.name).toBe(0);
    }
    // Each host's diff: the planned stack against its own Xen build.
    for (const xen of [XEN_A, XEN_B]) expect(r.out).toContain(`+++ after: applied stack (Xen ${xen}), planned`);
    expect(r.out.match(/^\+hello$/gm)?.length).toBe(xenHosts().length);
  });

  test('a rollout converges every host, each with the payloads built for its Xen build; --diff shows the stacks', async () => {
    const r = await fleet.playbook(ROLLOUT, ['-e', `livepatch_source=${first.dir}`, '--diff']);
    expect(r.code, r.out).toBe(0);
    for (const h of xenHosts()) {
      await expectStack(h, ['hello'], first);
      expect(r.recap.get(h.name), h.name).toMatchObject({ failed: 0, unreachable: 0 });
    }
    expect(first.buildIds.get(`${XEN_A}/hello`)).not.toBe(first.buildIds.get(`${XEN_B}/hello`));
    expect(r.out.match(/^\+hello$/gm)?.length).toBe(xenHosts().length);
  });

  test('a second run changes nothing anywhere (changed=0)', async () => {
    const r = await fleet.playbook(ROLLOUT, ['-e', `livepatch_source=${first.dir}`]);
    expect(r.code, r.out).toBe(0);
    for (const h of xenHosts()) expect(r.recap.get(h.name), h.name).toMatchObject({ changed: 0, failed: 0 });
  });

  test('a host whose hook vetoes is left as it was, the rollout stops after its batch, later hosts are untouched', async () => {
    await fleet.xlp(host(VETO_HOST), ['mock', 'hook', 'guarded', 'preapply', '--rc', '-22']);
    const later = LATER.map((n) => fleet.fingerprint(host(n)));
    const r = await fleet.playbook(ROLLOUT, ['-e', `livepatch_source=${second.dir}`]);
    expect(r.code, r.out).not.toBe(0);
    // The veto, as the operator sees it: hook, rc and the hypervisor's console line.
    const failure = failureOf(r.out, VETO_HOST);
    expect(failure).toContain('hook preapply');
    expect(failure).toContain('rc -22');
    expect(failure).toContain(VETO_LINE);
    expect(r.out).not.toContain('Traceback');
    // The canary and the veto host's batch-mates are patched, each for its own build, and
    // verified (copy, patch, status, assert ok; the final stop skipped); the veto host is
    // verified too (its error ignored until then), then failed.
    for (const n of ['a1', 'a2', 'b1']) {
      await expectStack(host(n), ['hello', 'guarded'], second);
      expect(r.recap.get(n), n).toMatchObject({ ok: 4, changed: 2, failed: 0, skipped: 1 });
    }
    // (An ignored failure counts as ok too: copy, patch, status, assert.)
    expect(r.recap.get(VETO_HOST)).toMatchObject({ ok: 4, failed: 1, ignored: 1 });
    // The veto host: stack unchanged, guarded unloaded and not left installed for the next sync.
    await expectStack(host(VETO_HOST), ['hello'], first);
    expect(await fleet.loaded(host(VETO_HOST))).toEqual(['hello']);
    const installed = await fleet.xlp<{ builds: { xenBuildId: string; patches: { name: string }[] }[] }>(host(VETO_HOST), [
      'list',
      '--installed',
    ]);
    expect(installed.builds.flatMap((b) => b.patches.map((p) => `${b.xenBuildId}/${p.name}`))).not.toContain(`${XEN_A}/guarded`);
    // Nothing after the batch ran: not in the recap, state files byte for byte as before.
    for (const n of LATER) expect(r.recap.has(n), n).toBe(false);
    expect(LATER.map((n) => fleet.fingerprint(host(n)))).toEqual(later);
    for (const n of LATER) await expectStack(host(n), ['hello'], first);
  });

  test("the audit playbook reports each host's build, stack and drift and changes nothing", async () => {
    const before = xenHosts().map((h) => fleet.fingerprint(h));
    const r = await fleet.playbook(AUDIT);
    expect(r.code, r.out).toBe(0);
    for (const h of xenHosts()) expect(r.recap.get(h.name), h.name).toMatchObject({ changed: 0, failed: 0 });
    expect(r.out).toContain(`xen 4.17.7 ${XEN_A}: applied hello,guarded; in sync: True`);
    expect(r.out).toContain(`xen 4.17.7 ${XEN_B}: applied hello,guarded; in sync: True`);
    expect(r.out).toContain(`xen 4.17.7 ${XEN_A}: applied hello; in sync: True`);
    expect(xenHosts().map((h) => fleet.fingerprint(h))).toEqual(before);
  });

  test('state=absent reverts and uninstalls a patch; --check first changes nothing; again: changed=0', async () => {
    const play = writePlay(fleet, 'absent.yml', 'a1', { 'xen_livepatch.xlp.livepatch': { state: 'absent', name: 'guarded' } });
    const a1 = host('a1');
    const before = fleet.fingerprint(a1);
    const check = await fleet.playbook(play, ['--check', '--diff']);
    expect(check.code, check.out).toBe(0);
    expect(check.recap.get('a1')).toMatchObject({ changed: 1, failed: 0 });
    expect(check.out).toMatch(/^-guarded$/m);
    expect(fleet.fingerprint(a1)).toBe(before);
    const real = await fleet.playbook(play);
    expect(real.code, real.out).toBe(0);
    expect(real.recap.get('a1')).toMatchObject({ changed: 1, failed: 0 });
    await expectStack(a1, ['hello'], second);
    expect(await fleet.loaded(a1)).toEqual(['hello']);
    const again = await fleet.playbook(play);
    expect(again.recap.get('a1')).toMatchObject({ changed: 0, failed: 0 });
  });

  test.each([
    ['noxlp', /xlp not found: "xlp" is not on the target's PATH \(\/usr\/bin:\/bin\)\. The target needs xen-livepatch installed/],
    ['noxen', /Xen is not available on this host: `xlp [a-z -]+` failed \(exit 3; XenUnavailableError/],
  ])('host %s fails with a clear message, not a traceback', async (name, message) => {
    const r = await fleet.playbook(ROLLOUT, ['-e', `livepatch_source=${first.dir}`, '-e', `livepatch_hosts=${name}`]);
    expect(r.code, r.out).not.toBe(0);
    expect(r.recap.get(name)).toMatchObject({ failed: 1 });
    expect(failureOf(r.out, name)).toMatch(message);
    expect(r.out).not.toMatch(/Traceback|MODULE FAILURE|deserialization failed/);
  });
});
