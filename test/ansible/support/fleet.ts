/**
 * A fleet of Xen hosts on one machine for ansible-playbook: every host is `connection: local`
 * with its own mock hypervisor (`xlp mock init --build-id ...`) and its own xlp state directory,
 * handed to xlp through the play's `environment` (XLP_MOCK_STATE, XLP_STATE_DIR) from host vars.
 * The hosts' states are read afterwards with the compiled `xlp`, independently of the modules.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { buildPayloads } from '../../../scripts/payloads/builder.js';
import { ROOT, XLP } from '../../cli/support/xlp.js';
import type { AnsibleCore } from './ansible-core.js';

const run = promisify(execFile);
export const COLLECTION_DIR = join(ROOT, 'ansible', 'xen_livepatch');
export const ROLLOUT = join(ROOT, 'docs', 'fleet', 'rollout.yml');
export const AUDIT = join(ROOT, 'docs', 'fleet', 'audit.yml');

/** Two Xen builds in the fleet: payloads built for one are refused by the other. */
export const XEN_A = 'a0a0a0a0000000000000000000000000000004a1';
export const XEN_B = 'b0b0b0b0000000000000000000000000000004b2';

export interface Host {
  readonly name: string;
  readonly xen: string;
  readonly mockState: string;
  readonly stateDir: string;
  readonly incoming: string;
  /** Extra environment (a broken host's). */
  readonly env?: Readonly<Record<string, string>>;
  readonly xlpPath?: string;
}

export interface PayloadSet {
  /** Directory holding `<xen build-id>/<name>.livepatch`. */
  readonly dir: string;
  /** Each payload's own build-id, by `<xen>/<name>`. */
  readonly buildIds: ReadonlyMap<string, string>;
}

const SRC = join(ROOT, 'examples', 'payloads');

/**
 * Builds hello (on the Xen build) and guarded (on hello, with vetoing pre/post hooks) for each
 * Xen build with gcc, into `dir/<xen>/`; `names` picks which of them the set holds.
 */
export async function buildPayloadSet(dir: string, names: readonly ('hello' | 'guarded')[]): Promise<PayloadSet> {
  const buildIds = new Map<string, string>();
  for (const xen of [XEN_A, XEN_B]) {
    const built = await buildPayloads([
      { name: 'hello', sources: [join(SRC, 'hello.c')], xenDepends: xen },
      { name: 'guarded', sources: [join(SRC, 'guarded.c')], xenDepends: xen, depends: { on: 'hello' } },
    ]);
    mkdirSync(join(dir, xen), { recursive: true });
    for (const name of names) {
      const p = built.get(name)!;
      copyFileSync(p.path, join(dir, xen, `${name}.livepatch`));
      buildIds.set(`${xen}/${name}`, p.buildId!);
    }
  }
  return { dir, buildIds };
}

export interface PlaybookRun {
  readonly code: number;
  readonly out: string;
  /** PLAY RECAP counts by host. */
  readonly recap: ReadonlyMap<string, Readonly<Record<string, number>>>;
}

export class Fleet {
  readonly hosts: Host[] = [];
  readonly bin: string;
  readonly collections: string;
  readonly inventory: string;
  private readonly tmp: string;

  constructor(
    readonly dir: string,
    readonly core: AnsibleCore,
  ) {
    this.bin = join(dir, 'bin');
    this.collections = join(dir, 'collections');
    this.inventory = join(dir, 'inventory.yml');
    this.tmp = join(dir, 'ansible-tmp');
    mkdirSync(this.bin, { recursive: true });
    mkdirSync(this.tmp, { recursive: true });
    // `xlp` on PATH, as an installed xen-livepatch puts it: the module's default xlp_path.
    symlinkSync(XLP, join(this.bin, 'xlp'));
  }

  /** Builds the collection with this core's ansible-galaxy and installs the tarball for ansible-playbook. */
  async installCollection(): Promise<string> {
    const out = join(this.dir, 'dist');
    await run(this.core.galaxy, ['collection', 'build', COLLECTION_DIR, '--output-path', out], { env: this.env() });
    const tarball = join(
      out,
      readdirSync(out).find((f) => f.endsWith('.tar.gz'))!,
    );
    await run(this.core.galaxy, ['collection', 'install', tarball, '-p', this.collections], { env: this.env() });
    return tarball;
  }

  /** A host with its own mock hypervisor running Xen build `xen`. */
  async addHost(name: string, xen: string): Promise<Host> {
    const base = join(this.dir, 'hosts', name);
    const host: Host = { name, xen, mockState: join(base, 'mock'), stateDir: join(base, 'xlp'), incoming: join(base, 'incoming') };
    mkdirSync(base, { recursive: true, mode: 0o700 });
    await this.xlp(host, ['mock', 'init', '--build-id', xen, '--loglvl', 'all']);
    this.hosts.push(host);
    return host;
  }

  /** A host whose target cannot run the patch: extra environment and/or another xlp path. */
  addBrokenHost(name: string, extra: { env?: Record<string, string>; xlpPath?: string }): Host {
    const base = join(this.dir, 'hosts', name);
    mkdirSync(base, { recursive: true, mode: 0o700 });
    const host: Host = {
      name,
      xen: '',
      mockState: join(base, 'mock'),
      stateDir: join(base, 'xlp'),
      incoming: join(base, 'incoming'),
      ...extra,
    };
    this.hosts.push(host);
    return host;
  }

  /** Writes the inventory: group `xen_hosts` in the order hosts were added, `broken` for the rest. */
  writeInventory(): void {
    const vars = (h: Host) => {
      const env: Record<string, string> = {
        PATH: `${this.bin}:${process.env.PATH}`,
        XLP_BACKEND: 'mock',
        XLP_MOCK_STATE: h.mockState,
        XLP_STATE_DIR: h.stateDir,
        NO_COLOR: '1',
        ...h.env,
      };
      return {
        ansible_connection: 'local',
        ansible_python_interpreter: '/usr/bin/python3',
        livepatch_incoming: h.incoming,
        livepatch_environment: env,
        ...(h.xlpPath ? { livepatch_xlp_path: h.xlpPath } : {}),
      };
    };
    const group = (hosts: Host[]) => ({ hosts: Object.fromEntries(hosts.map((h) => [h.name, vars(h)])) });
    const inventory = {
      all: {
        children: {
          xen_hosts: group(this.hosts.filter((h) => h.xen)),
          broken: group(this.hosts.filter((h) => !h.xen)),
        },
      },
    };
    // JSON is YAML: no YAML library needed.
    writeFileSync(this.inventory, JSON.stringify(inventory, null, 2));
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.core.env,
      ANSIBLE_COLLECTIONS_PATH: this.collections,
      ANSIBLE_LOCAL_TEMP: join(this.tmp, 'local'),
      ANSIBLE_REMOTE_TEMP: join(this.tmp, 'remote'),
      ANSIBLE_HOME: join(this.tmp, 'home'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_DEPRECATION_WARNINGS: '0',
      ANSIBLE_FORKS: '5',
      ...extra,
    };
    for (const k of Object.keys(env)) if (k.startsWith('XLP_')) delete env[k];
    return env;
  }

  /** Runs a playbook against the inventory; never throws on a failed play (the exit code is asserted). */
  async playbook(playbook: string, args: readonly string[] = []): Promise<PlaybookRun> {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        this.core.playbook,
        ['-i', this.inventory, playbook, ...args],
        { env: this.env(), maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolve({ code, out: `${stdout}\n${stderr}` });
        },
      );
    });
    return { ...r, recap: parseRecap(r.out) };
  }

  /** `ansible-doc --json` of one of the collection's modules (its sidecar YAML). */
  async doc(module: string): Promise<{ options: Record<string, { default?: unknown; type: string }> }> {
    const fqcn = `xen_livepatch.xlp.${module}`;
    const { stdout } = await run(this.core.playbook.replace(/ansible-playbook$/, 'ansible-doc'), ['--json', fqcn], { env: this.env() });
    return (JSON.parse(stdout) as Record<string, { doc: { options: Record<string, { default?: unknown; type: string }> } }>)[fqcn]!.doc;
  }

  /** The compiled xlp against one host's mock and state directory. */
  async xlp<T = Record<string, unknown>>(host: Host, args: readonly string[]): Promise<T> {
    const { stdout } = await run(
      process.execPath,
      [
        XLP,
        ...args,
        '--json',
        '--backend',
        'mock',
        '--mock-state',
        host.mockState,
        ...(args[0] === 'mock' ? [] : ['--state-dir', host.stateDir]),
      ],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    return JSON.parse(stdout) as T;
  }

  /** A host's applied stack, bottom first: names and the payloads' own build-ids. */
  async stack(host: Host): Promise<{ name: string; buildId: string | null }[]> {
    const s = await this.xlp<{ applied: { name: string; buildId: string | null }[] }>(host, ['stack']);
    return s.applied.map((p) => ({ name: p.name, buildId: p.buildId }));
  }

  /** Every payload loaded in a host's hypervisor (applied or not). */
  async loaded(host: Host): Promise<string[]> {
    return (await this.xlp<{ payloads: { name: string }[] }>(host, ['list'])).payloads.map((p) => p.name);
  }

  /**
   * A digest of everything in a host's mock and xlp state directories (names, modes, bytes). A
   * missing directory counts as an empty one: xlp's reading commands (`xlp status`) create their
   * empty private state directory, which records nothing.
   */
  fingerprint(host: Host): string {
    const h = createHash('sha256');
    for (const root of [host.mockState, host.stateDir]) {
      let names: string[];
      try {
        names = readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        names = [];
      }
      for (const name of names) {
        const p = join(root, name);
        const st = statSync(p);
        h.update(`${relative(this.dir, p)} ${st.mode.toString(8)}\n`);
        if (st.isFile()) h.update(readFileSync(p));
      }
    }
    return h.digest('hex');
  }
}

/** `host : ok=3 changed=1 unreachable=0 failed=0 ...` lines of the PLAY RECAP. */
export function parseRecap(out: string): Map<string, Record<string, number>> {
  const recap = new Map<string, Record<string, number>>();
  const at = out.lastIndexOf('PLAY RECAP');
  if (at < 0) return recap;
  for (const line of out.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const counts: Record<string, number> = {};
    for (const [, k, v] of m[2]!.matchAll(/(\w+)=(\d+)/g)) counts[k!] = Number(v);
    recap.set(m[1]!, counts);
  }
  return recap;
}
