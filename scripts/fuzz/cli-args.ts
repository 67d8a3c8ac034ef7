/**
 * Fuzz target `cli-args`: `xlp` command lines, run in-process (lib/cli/main.ts `run`) against a mock
 * hypervisor in a scratch directory. Arguments are drawn per command from what it takes (and what
 * it does not): names valid and not, payload files and non-files, durations, build-ids, hook
 * scripts, option values missing or repeated, unknown options and commands. The mock keeps its state
 * over a block of BLOCK inputs (so commands meet payloads in every state), from a known start: an
 * input replayed alone first replays the inputs of its block before it. Oracles, for every run:
 *  - `run` resolves to a documented exit code (0-6); nothing is thrown, no promise is left rejected;
 *  - nothing printed holds a stack trace, "undefined" or "[object Object]" for a message;
 *  - with --json, stdout is one JSON document, and a failure is the documented `{"error": ...}`
 *    object whose exitCode is the process's;
 *  - without --json, a failure says why on stderr;
 *  - afterwards no lock is left held and no SIGINT listener is left installed.
 * Paths given to xlp are always inside the scratch directory (the fuzz may run as root).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Main from '../../lib/cli/main.js';
import type * as Schema from '../../lib/cli/json-schema.js';
import type * as Mock from '../../lib/mock/index.js';
import type * as LockModule from '../../lib/fs/lock.js';
import { WF_XEN, wfPayloads, type WfPayload } from '../../test/workflow/support/payloads.js';
import { Rng } from './rng.js';
import { finding, type FuzzContext, type FuzzTarget } from './target.js';

/** Inputs that share one mock state, from a fresh one. */
const BLOCK = 64;
const EXIT_CODES = new Set([0, 1, 2, 3, 4, 5, 6]);

export interface CliInput {
  readonly index: number;
  readonly argv: readonly string[];
  /** --json is among the flags. */
  readonly json: boolean;
}

interface Lib {
  run: typeof Main.run;
  validateJson: typeof Schema.validateJson;
  CLI_SCHEMAS: typeof Schema.CLI_SCHEMAS;
  initMockState: typeof Mock.initMockState;
  openMockBackend: typeof Mock.openMockBackend;
  readLockHolder: typeof LockModule.readLockHolder;
}

type Gen = (rng: Rng) => string;

export class CliArgsTarget implements FuzzTarget<CliInput> {
  readonly name = 'cli-args';
  private lib!: Lib;
  private dir = '';
  private files: Record<string, string> = {};
  private payloads: string[] = [];
  private lastIndex = -2;
  private readonly counts = { runs: 0, json: 0, exit0: 0, usage: 0, failed: 0, otherExit: 0, resets: 0 };

  async setup(ctx: FuzzContext): Promise<void> {
    const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(ctx.lib, rel)).href)) as T;
    const main = await load<typeof Main>('cli/main.ts');
    const schema = await load<typeof Schema>('cli/json-schema.ts');
    const mock = await load<typeof Mock>('mock/index.ts');
    const lock = await load<typeof LockModule>('fs/lock.ts');
    this.lib = {
      run: main.run,
      validateJson: schema.validateJson,
      CLI_SCHEMAS: schema.CLI_SCHEMAS,
      initMockState: mock.initMockState,
      openMockBackend: mock.openMockBackend,
      readLockHolder: lock.readLockHolder,
    };
    // Under the engine's scratch directory, which it removes even after a hang.
    this.dir = join(ctx.scratch, 'cli');
    mkdirSync(this.dir, { recursive: true });
    const P = await wfPayloads();
    const ids: WfPayload[] = ['base', 'second', 'guarded', 'data', 'hooked', 'action', 'cumulative', 'wrong_xen', 'fatal'];
    this.payloads = ids.map((id) => P.path(id));
    const text = join(this.dir, 'notes.txt');
    writeFileSync(text, 'not a payload\n');
    const nm = join(this.dir, 'xensyms');
    writeFileSync(nm, 'ffff82d040200000 T xen_extra_version\nffff82d040241a20 T printk\n');
    const open = join(this.dir, 'open');
    mkdirSync(open, { recursive: true });
    chmodSync(open, 0o777);
    this.files = { text, nm, open, mock: join(this.dir, 'mock'), state: join(this.dir, 'state'), link: join(this.dir, 'link') };
    process.env.XLP_BACKEND = 'mock';
    process.env.XLP_MOCK_STATE = this.files.mock!;
    process.env.NO_COLOR = '1';
    delete process.env.XLP_STATE_DIR;
    delete process.env.XLP_FAULT_KILL_AFTER_JOURNAL_WRITES;
    process.env.XDG_STATE_HOME = join(this.dir, 'xdg');
    process.on('unhandledRejection', (reason) => {
      this.unhandled.push(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason));
    });
  }

  private readonly unhandled: string[] = [];

  /** The mock as every block starts: two payloads applied, one uploaded. */
  private async reset(): Promise<void> {
    this.counts.resets++;
    for (const d of ['mock', 'state', 'xdg', 'link']) rmSync(join(this.dir, d), { recursive: true, force: true });
    for (let k = 0; k < 4; k++) rmSync(join(this.dir, `fresh-${k}`), { recursive: true, force: true });
    await this.lib.initMockState(this.files.mock!, { buildId: WF_XEN, quiesceMs: 0 });
    symlinkSync(this.files.mock!, this.files.link!);
    const m = await this.lib.openMockBackend({ stateDir: this.files.mock!, ifMissing: 'error' });
    await m.upload('wf_base', readFileSync(this.payloads[0]!));
    await m.action('wf_base', 'APPLY');
    await m.upload('wf_second', readFileSync(this.payloads[1]!));
    await m.close();
  }

  /** The run's seed, for replaying the inputs of a block before the one asked for. */
  private seed = 0;

  generate(seed: number, index: number): CliInput {
    this.seed = seed;
    return { index, ...argvFor(new Rng(seed, index), this.pools()) };
  }

  private pools(): Pools {
    const f = this.files;
    const dir = this.dir;
    const payloadPaths = this.payloads;
    return {
      name: (rng) =>
        rng.weighted<() => string>([
          [6, () => rng.pick(['wf_base', 'wf_second', 'wf_guarded', 'wf_data', 'wf_hooked', 'wf_action', 'wf_cumulative', 'nope'])],
          [
            1,
            () =>
              rng.pick([
                '',
                ' ',
                'a\tb',
                'x\ny',
                'é✓',
                '$(id)',
                '-x',
                '--json',
                'a'.repeat(128),
                'b'.repeat(127),
                '\u2028',
                'wf_base\u0000',
              ]),
          ],
        ])(),
      file: (rng) =>
        rng.weighted<() => string>([
          [6, () => rng.pick(payloadPaths)],
          [1, () => rng.pick([f.text!, f.nm!, f.open!, join(dir, 'missing.livepatch'), '', dir])],
        ])(),
      dir: (rng) => rng.pick([f.mock!, f.state!, f.link!, f.open!, f.text!, join(dir, `fresh-${rng.below(4)}`), join(f.mock!, 'workflow')]),
      duration: (rng) => rng.pick(['0', '1', '5ms', '500ms', '2s', '1m', '-1', 'abc', '1e3', '1.5s', '99999999999h', '', 's', '0x10']),
      buildId: (rng) => rng.pick([WF_XEN, 'none', 'xyz', WF_XEN.slice(1), `${WF_XEN}00`, WF_XEN.toUpperCase(), '']),
      hook: (rng) => rng.pick(['preapply', 'postapply', 'prerevert', 'postrevert', 'apply', 'revert', 'load', 'unload', 'bogus', '']),
      rc: (rng) => rng.pick(['0', '-1', '-22', '-1,0', '-1 then 0', 'x', '', '1', '-2147483649', '-0']),
      number: (rng) => rng.pick(['0', '1', '2', '10', '50', '-1', 'abc', '1e12', '0.5', '']),
      files: f,
    };
  }

  async check(input: CliInput): Promise<void> {
    const blockStart = input.index - (input.index % BLOCK);
    if (input.index === blockStart || input.index !== this.lastIndex + 1) {
      await this.reset();
      // Alone (a replay): the inputs of the block before this one first, as the run had them.
      for (let i = blockStart; i < input.index; i++) await this.once(this.generate(this.seed, i), false);
    }
    this.lastIndex = input.index;
    await this.once(input, true);
  }

  private async once(input: CliInput, judge: boolean): Promise<void> {
    const out: string[] = [];
    const err: string[] = [];
    const sigint = process.listenerCount('SIGINT');
    const unhandledBefore = this.unhandled.length;
    let code: number;
    try {
      code = await this.lib.run(input.argv, undefined, {
        stdout: { write: (text: string) => out.push(text), isTTY: false },
        stderr: { write: (text: string) => err.push(text), isTTY: false },
      });
    } catch (error) {
      if (!judge) return;
      finding(
        `xlp ${show(input.argv)} threw instead of exiting: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    // Let promises the command left behind settle, so a rejection among them is seen.
    await new Promise((r) => setImmediate(r));
    if (!judge) return;
    this.counts.runs++;
    const stdout = out.join('');
    const stderr = err.join('');
    const what = `xlp ${show(input.argv)} (exit ${code})`;
    if (!EXIT_CODES.has(code)) finding(`${what}: not a documented exit code`);
    if (code === 0) this.counts.exit0++;
    else if (code === 2) this.counts.usage++;
    else if (code === 1) this.counts.failed++;
    else this.counts.otherExit++;
    if (this.unhandled.length > unhandledBefore)
      finding(`${what}: a promise was left rejected: ${this.unhandled.slice(unhandledBefore).join('\n')}`);
    const all = stdout + stderr;
    if (/\n\s+at .+[(:]\d+:\d+\)?/.test(all)) finding(`${what}: printed a stack trace:\n${all.slice(0, 3000)}`);
    if (/xlp: (undefined|null|\[object Object\])|: undefined\b|\[object Object\]/.test(all))
      finding(`${what}: printed a meaningless message:\n${all.slice(0, 3000)}`);
    const dryRun = input.argv.includes('--dry-run');
    const helpOrVersion =
      input.argv.some((a) => a === '--help' || a === '-h' || a === '-V' || a === '--version') || input.argv[0] === 'help';
    if (input.json && !helpOrVersion) {
      this.counts.json++;
      let doc: unknown;
      try {
        doc = JSON.parse(stdout);
      } catch {
        finding(
          `${what}: with --json, stdout is not one JSON document:\n  stdout ${JSON.stringify(stdout.slice(0, 1500))}\n  stderr ${JSON.stringify(stderr.slice(0, 1500))}`,
        );
      }
      const error = (doc as { error?: { exitCode?: number } } | null)?.error;
      // check's exit 1 is its report; a refused --dry-run is its plan, saying why (`refused`).
      const report = code === 1 && input.argv[0] === 'check' && !error;
      const plan = (doc as { plan?: { refused?: unknown } } | null)?.plan;
      const refusedPlan =
        dryRun &&
        !error &&
        plan?.refused !== undefined &&
        (this.lib.validateJson(this.lib.CLI_SCHEMAS.plan, doc).length === 0 ||
          this.lib.validateJson(this.lib.CLI_SCHEMAS.recoverPlan, doc).length === 0);
      if (code !== 0 && !report && !refusedPlan) {
        const problems = this.lib.validateJson(this.lib.CLI_SCHEMAS.error, doc);
        if (problems.length)
          finding(
            `${what}: with --json, the failure is not the documented error object: ${problems.join('; ')}\n  stdout ${stdout.slice(0, 1500)}`,
          );
        if (error?.exitCode !== code) finding(`${what}: the error object says exitCode ${String(error?.exitCode)}`);
      }
    } else if (
      code !== 0 &&
      stderr.trim() === '' &&
      !input.argv.includes('-q') &&
      !input.argv.includes('--quiet') &&
      !helpOrVersion &&
      !(code === 1 && input.argv[0] === 'check') &&
      !dryRun
    ) {
      // (check's exit 1 is its report on stdout, and a refused --dry-run's plan says why there.)
      finding(`${what}: failed without a word on stderr (stdout: ${JSON.stringify(stdout.slice(0, 500))})`);
    }
    if (process.listenerCount('SIGINT') !== sigint)
      finding(`${what}: left ${process.listenerCount('SIGINT') - sigint} SIGINT listener(s) installed`);
    for (const lock of [join(this.files.mock!, 'lock'), join(this.files.mock!, 'workflow', 'lock'), join(this.files.state!, 'lock')]) {
      const holder = await this.lib.readLockHolder(lock).catch(() => null);
      if (holder && holder.pid === process.pid) finding(`${what}: left the lock ${lock} held (${holder.purpose})`);
    }
  }

  save(input: CliInput): { ext: string; data: string } {
    return { ext: 'json', data: `${JSON.stringify(input)}\n` };
  }

  stats(): Record<string, number> {
    return { ...this.counts };
  }

  async teardown(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const show = (argv: readonly string[]) => argv.map((a) => (/^[\w./:=,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');

interface Pools {
  readonly name: Gen;
  readonly file: Gen;
  readonly dir: Gen;
  readonly duration: Gen;
  readonly buildId: Gen;
  readonly hook: Gen;
  readonly rc: Gen;
  readonly number: Gen;
  readonly files: Record<string, string>;
}

type Spec = readonly (readonly [string, Gen | null])[];

const COMMON: Spec = [
  ['--json', null],
  ['-q', null],
];
const BACKEND = (p: Pools): Spec => [
  ['--backend', (rng) => rng.pick(['mock', 'mock', 'nope', '', 'MOCK'])],
  ['--mock-state', p.dir],
  ['--state-dir', p.dir],
  ['--lock-timeout', p.duration],
  ['--timeout', p.duration],
];
const ACTION = (p: Pools): Spec => [...BACKEND(p), ['--dry-run', null], ['--quiesce-timeout', p.duration]];

function commands(p: Pools): Record<string, { args: readonly Gen[]; options: Spec }> {
  const mockState: Spec = [['--mock-state', p.dir]];
  return {
    list: { args: [], options: BACKEND(p) },
    status: { args: [p.name], options: BACKEND(p) },
    upload: { args: [p.name, p.file], options: [...ACTION(p), ['--force', null]] },
    apply: { args: [p.name], options: [...ACTION(p), ['--nodeps', null]] },
    revert: { args: [p.name], options: ACTION(p) },
    replace: { args: [p.name], options: [...ACTION(p), ['--sequential', null], ['--force', null], ['--nodeps', null]] },
    unload: { args: [p.name], options: ACTION(p) },
    load: { args: [p.file], options: [...ACTION(p), ['--name', p.name], ['--nodeps', null], ['--force', null], ['--keep', null]] },
    stack: { args: [], options: BACKEND(p) },
    log: { args: [p.name], options: BACKEND(p) },
    info: { args: [], options: BACKEND(p) },
    recover: { args: [], options: [...BACKEND(p), ['--complete', null], ['--dry-run', null]] },
    check: {
      args: [p.file, p.file],
      options: [
        ['--xen-build-id', p.buildId],
        ['--symbols', (rng) => rng.pick([p.files.nm!, p.files.text!, p.file(rng)])],
        ['--xen-version', (rng) => rng.pick(['4.17', '4.14', '4.13', 'head', '5', 'x'])],
        ['--offline', null],
      ],
    },
    'mock init': {
      args: [],
      options: [
        ...mockState,
        ['--build-id', p.buildId],
        ['--no-build-id', null],
        ['--xen-version', (rng) => rng.pick(['4.17', '4.20', '4.13', 'head', 'x'])],
        ['--symbols', (rng) => rng.pick([p.files.nm!, p.files.text!])],
        ['--quiesce-ms', p.number],
        ['--rendezvous-ns', p.number],
        ['--cpus', p.number],
        ['--loglvl', (rng) => rng.pick(['all', 'warning', 'error/warning', 'none', 'bogus', ''])],
        ['--memory', (rng) => rng.pick(['xen_extra_version=0f0b', 'printk=zz', 'nope', '=', 'a=b=c'])],
        ['--force', null],
      ],
    },
    'mock hook': {
      args: [p.name, p.hook],
      options: [
        ...mockState,
        ['--rc', p.rc],
        ['--symbol', p.name],
        ['--printk', (rng) => rng.pick(['hello', '<3>debug', '', 'a\nb'])],
        ['--calls', (rng) => rng.pick(['revert_payload', 'revert_payload,revert_payload_tail', 'bogus', ''])],
        ['--fstate', (rng) => rng.pick(['consistent', 'applied', 'not-applied', 'unchanged', 'x'])],
        ['--bug', null],
        ['--clear', null],
      ],
    },
    'mock status': { args: [], options: mockState },
    'mock calls': { args: [], options: [...mockState, ['--since', p.number]] },
    'mock reboot': { args: [], options: mockState },
  };
}

/** A command line, and whether --json is among its flags (not an option's value). */
function argvFor(rng: Rng, p: Pools): { argv: string[]; json: boolean } {
  const table = commands(p);
  const names = Object.keys(table);
  if (rng.chance(0.03)) {
    const argv = rng.pick([
      ['--help'],
      ['-V'],
      ['bogus'],
      [],
      ['--json'],
      ['list', '--help'],
      ['mock'],
      ['mock', 'bogus'],
      ['help', 'apply'],
      ['bogus', '--json'],
    ]);
    return { argv, json: argv.includes('--json') };
  }
  // Commands that change something come up less often than those that read, so the stack keeps payloads.
  const command = rng.weighted(
    names.map(
      (n) =>
        [
          ['list', 'status', 'stack', 'info', 'log', 'check', 'mock status'].includes(n)
            ? 2
            : n === 'mock init' || n === 'mock reboot'
              ? 0.3
              : 1,
          n,
        ] as const,
    ),
  );
  const spec = table[command]!;
  const positional = spec.args.map((g) => g(rng));
  const keep = rng.chance(0.08) ? rng.below(positional.length + 1) : positional.length; // an argument missing
  const args = positional.slice(0, keep);
  // Options as [flag] or [flag, value]: a value never reads as a flag of its own.
  const options: string[][] = [];
  const all = [...COMMON, ...spec.options];
  const count = rng.weighted([
    [3, 0],
    [4, 1],
    [3, 2],
    [1, 4],
  ]);
  for (let i = 0; i < count; i++) {
    const [flag, value] = rng.pick(all);
    if (!value) options.push([flag]);
    else {
      let v = value(rng);
      if (v.startsWith('--') || v === '-q') v = `x${v}`;
      options.push([flag, v]);
    }
  }
  if (rng.chance(0.5)) options.push(['--json']);
  if (rng.chance(0.04)) options.push([rng.pick(['--bogus', '-z', '--', 'extra', '--json=1', '--timeout=1s'])]);
  // Options before, between or after the arguments, as commander allows.
  const at = rng.below(args.length + 1);
  const argv = [...command.split(' '), ...args.slice(0, at), ...options.flat(), ...args.slice(at)];
  let json = options.some((o) => o[0] === '--json') || args.includes('--json');
  // Now and then an option's value is missing at the very end of the line.
  if (rng.chance(0.03)) {
    const [flag] = rng.pick(all);
    argv.push(flag);
    json ||= flag === '--json';
  }
  // After `--`, everything is an argument.
  const dashdash = argv.indexOf('--');
  if (dashdash >= 0) json = argv.slice(command.split(' ').length, dashdash).includes('--json');
  return { argv, json };
}

export default (): FuzzTarget => new CliArgsTarget() as FuzzTarget;
