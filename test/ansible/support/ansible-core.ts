/**
 * The ansible-cores the fleet suite runs: the machine's own (Debian 12's 2.14, `apt-get install
 * ansible-core`, as CI does) and Debian 13's (2.19), downloaded and unpacked into the cache with a
 * private apt tree (scripts/xen-vm/fetch.ts: never installed, the host's apt never changed). The
 * unpacked 2.19 runs on the machine's python3 with Debian 12's python libraries (jinja2 3.1,
 * PyYAML 6, resolvelib 0.9, packaging 23, cryptography), which ansible-core 2.19 accepts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fetchPackage } from '../../../scripts/xen-vm/fetch.js';
import { XEN_TARGETS } from '../../../scripts/xen-vm/targets.js';

export interface AnsibleCore {
  /** `2.14.18`, as `ansible-playbook --version` says. */
  readonly version: string;
  /** Where it comes from, for test names. */
  readonly origin: string;
  /** Full path of ansible-playbook / ansible-galaxy. */
  readonly playbook: string;
  readonly galaxy: string;
  /** Environment it needs (PYTHONPATH for the unpacked one). */
  readonly env: Readonly<Record<string, string>>;
}

function versionOf(playbook: string, env: Readonly<Record<string, string>>): string {
  const out = execFileSync(playbook, ['--version'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const m = /ansible-playbook \[core ([0-9][^\]]*)\]/.exec(out);
  if (!m) throw new Error(`${playbook} --version did not name its core version: ${out.split('\n')[0]}`);
  return m[1]!;
}

/** The machine's ansible-core; CI installs it with apt (.ci/run). A missing one fails the suite. */
export function systemAnsible(): AnsibleCore {
  const playbook = '/usr/bin/ansible-playbook';
  if (!existsSync(playbook)) {
    throw new Error('ansible-playbook is not installed: `apt-get install -y --no-install-recommends ansible-core` (what .ci/run does)');
  }
  return { version: versionOf(playbook, {}), origin: 'Debian 12 package, installed', playbook, galaxy: '/usr/bin/ansible-galaxy', env: {} };
}

/** Debian 13's ansible-core, unpacked from its .deb (Debian 13 is the 4.20 target's release). */
export function trixieAnsible(): AnsibleCore {
  const pkg = fetchPackage(XEN_TARGETS['4.20'], 'ansible-core');
  const env = { PYTHONPATH: join(pkg.root, 'usr', 'lib', 'python3', 'dist-packages') };
  const playbook = join(pkg.root, 'usr', 'bin', 'ansible-playbook');
  return {
    version: versionOf(playbook, env),
    origin: `Debian 13 package ${pkg.version}, unpacked`,
    playbook,
    galaxy: join(pkg.root, 'usr', 'bin', 'ansible-galaxy'),
    env,
  };
}
