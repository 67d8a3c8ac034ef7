/**
 * `xlp`: the command line. This module only declares the commands; each command's code is
 * imported when it runs, so `xlp --version` and `xlp list` load no more than they use.
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, EXIT_CODES_HELP, type ExitCode } from './exit-codes.js';
import type { CommandHandler, CommonOptions } from './command-options.js';
import { Output } from './output.js';
import type { TextSink } from './std-stream.js';
import { PACKAGE_ROOT_URL } from './package-root.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT_URL), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The options every command shares, accepted before or after the command name (`xlp --json list`,
 * `xlp list --json`), as git, docker and kubectl users expect. Their environment variables are
 * read where they are used (session.ts), so an error names the variable, not the flag.
 */
function globalOptions(program: Command): Command {
  return program
    .addOption(new Option('--json', 'print the result (or {"error": ...}) as JSON on stdout; schemas in docs/cli.md'))
    .addOption(new Option('-q, --quiet', 'print nothing but errors'))
    .addOption(
      new Option(
        '--backend <kind>',
        'native (libxenctrl, on a Xen dom0) or mock (the simulator; ' + 'the default where there is no Xen) [XLP_BACKEND]',
      ),
    )
    .addOption(
      new Option(
        '--mock-state <dir>',
        "the mock hypervisor's state directory (default " + '$XDG_STATE_HOME/xen-livepatch/mock) [XLP_MOCK_STATE]',
      ),
    )
    .addOption(
      new Option(
        '--state-dir <dir>',
        'host lock, journal and payload registry (default: /var/lib/xen-livepatch as root, ' +
          'else $XDG_STATE_HOME/xen-livepatch; mock: <mock-state>/workflow) [XLP_STATE_DIR]',
      ),
    )
    .addOption(new Option('--lock-timeout <duration>', 'how long to wait for another xlp holding the host lock (default 10s)'))
    .addOption(new Option('--timeout <duration>', 'how long to wait for an action to complete (default 30s; e.g. 500ms, 30s, 2m)'));
}

/** The shared options that only some commands use; giving one to another command is a usage error. */
type ScopedOption = 'backend' | 'mockState' | 'stateDir' | 'lockTimeout' | 'timeout';
const SCOPED_FLAG: Readonly<Record<ScopedOption, string>> = {
  backend: '--backend',
  mockState: '--mock-state',
  stateDir: '--state-dir',
  lockTimeout: '--lock-timeout',
  timeout: '--timeout',
};
/** Commands that talk to a hypervisor take them all. */
const HYPERVISOR: readonly ScopedOption[] = ['backend', 'mockState', 'stateDir', 'lockTimeout', 'timeout'];
/** `xlp mock ...` acts on the simulator's state directory (--backend, if given, must say mock). */
const MOCK: readonly ScopedOption[] = ['backend', 'mockState'];
const NONE: readonly ScopedOption[] = [];

/** Options of the commands that apply, revert, replace or unload. */
function withAction(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--dry-run',
        'print the plan (steps and the hooks that will run, in ' + 'order) and change nothing; exits as the command would',
      ),
    )
    .addOption(new Option('--quiesce-timeout <duration>', "the hypervisor's own timeout for the quiesce (default Xen's 30ms)"));
}

/** The command's name as typed (`mock init`). */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export interface ProgramOutput {
  /** Where commander's own messages (usage errors, help after an error) go. */
  readonly writeErr: (text: string) => void;
  /** Where the help and the version go. */
  readonly writeOut?: (text: string) => void;
  /** Where the commands' output goes (default: the process's stdout and stderr). */
  readonly streams?: CliStreams;
}

/** stdout and stderr for `run`: the process's own unless given (an in-process caller capturing them). */
export interface CliStreams {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

export function buildProgram(onExit: (code: ExitCode) => void, output?: ProgramOutput): Command {
  const program = new Command('xlp')
    .description('Xen livepatch: upload, apply, revert, replace and inspect hypervisor live patches')
    .version(packageVersion(), '-V, --version')
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP}\n\nBackends: --backend native (the default on a Xen dom0) or --backend mock ` +
        `(XLP_BACKEND; the default where there is no Xen, said on stderr). Full reference: docs/cli.md`,
    )
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError()
    .exitOverride();
  if (output)
    program.configureOutput({
      writeErr: output.writeErr,
      outputError: (text) => output.writeErr(`xlp: ${text.replace(/^error: /, '')}`),
      ...(output.writeOut ? { writeOut: output.writeOut } : {}),
    });
  globalOptions(program);

  const action =
    <A extends unknown[], O>(load: () => Promise<CommandHandler<A, O>>, scoped: readonly ScopedOption[] = HYPERVISOR) =>
    async (...all: unknown[]): Promise<void> => {
      // commander passes the positional arguments, then the options object, then the command.
      const cmd = all[all.length - 1] as Command;
      const options = cmd.optsWithGlobals<O & CommonOptions>();
      const args = all.slice(0, -2) as A;
      const out = new Output(
        { json: options.json === true, quiet: options.quiet === true },
        output?.streams?.stdout,
        output?.streams?.stderr,
      );
      try {
        for (const key of Object.keys(SCOPED_FLAG) as ScopedOption[]) {
          if (!scoped.includes(key) && (options as Record<string, unknown>)[key] !== undefined) {
            const { UsageError } = await import('./usage-error.js');
            throw new UsageError(`${SCOPED_FLAG[key]} does not apply to \`xlp ${commandPath(cmd)}\``);
          }
        }
        const handler = await load();
        onExit(await handler(args, options, out));
      } catch (error) {
        const { reportFor } = await import('./error-report.js');
        const { report, exitCode } = reportFor(error);
        out.error(report, exitCode);
        onExit(exitCode);
      }
    };

  program
    .command('list')
    .description('list every loaded payload with its state, rc and metadata; --installed: the installed patches of every Xen build')
    .option('--installed', 'list the installed patches (xlp install) of every Xen build, in stack order, instead')
    .action(action(async () => (await import('./commands/list.js')).list));

  program
    .command('status')
    .description("one payload's state and rc; without a name, the host: Xen, applied stack, installed set, drift, last sync, boot guard")
    .argument('[name]')
    .option('--format <format>', 'without a name: text (default) or prometheus (node_exporter textfile collector)')
    .option('--systemd-dir <dir>', "systemd's unit directory, to report the boot unit (default /etc/systemd/system) [XLP_SYSTEMD_DIR]")
    .action(action(async () => (await import('./commands/status.js')).status));

  withAction(program.command('upload'))
    .description('preflight and upload a payload (it is CHECKED, not applied); refused on preflight errors (exit 6)')
    .argument('<name>')
    .argument('<file>')
    .option('--force', 'upload despite preflight errors (never despite a fatal finding)')
    .option(
      '--trust-dir <dir>',
      'the trusted public keys: with any there, payloads need a valid ' +
        'FILE.sig (default /etc/xen-livepatch/trusted-keys) [XLP_TRUST_DIR]',
    )
    .action(action(async () => (await import('./commands/upload.js')).upload));

  withAction(program.command('apply'))
    .description('apply an uploaded payload and wait for the hypervisor to finish')
    .argument('<name>')
    .option('--nodeps', 'skip the build-id dependency check')
    .action(action(async () => (await import('./commands/apply.js')).apply));

  withAction(program.command('revert'))
    .description('revert an applied payload and wait (it must be the top of the stack)')
    .argument('<name>')
    .action(action(async () => (await import('./commands/revert.js')).revert));

  withAction(program.command('replace'))
    .description(
      "make this (uploaded) payload the only applied one: Xen's atomic REPLACE, " +
        'refused up front when vetoing hooks are involved; or --sequential',
    )
    .argument('<name>')
    .option('--sequential', 'revert the stack top-first, then apply, running every hook (for payloads with vetoing hooks)')
    .option('--force', 'with --sequential: go ahead even if a reverted payload could not be restored on failure')
    .option('--nodeps', 'with --sequential: apply the new payload without the dependency check')
    .action(action(async () => (await import('./commands/replace.js')).replace));

  withAction(program.command('unload'))
    .description('unload a payload that is not applied (an applied one is refused before any hypercall)')
    .argument('<name>')
    .action(action(async () => (await import('./commands/unload.js')).unload));

  withAction(program.command('load'))
    .description('preflight, upload and apply a payload file; unloaded again if the apply fails')
    .argument('<file>')
    .option('--name <name>', "payload name (default: the file's basename without its extension)")
    .option('--nodeps', 'skip the build-id dependency check')
    .option('--force', 'upload despite preflight errors (never despite a fatal finding)')
    .option('--keep', 'leave the payload uploaded if the apply fails')
    .option(
      '--trust-dir <dir>',
      'the trusted public keys: with any there, payloads need a valid ' +
        'FILE.sig (default /etc/xen-livepatch/trusted-keys) [XLP_TRUST_DIR]',
    )
    .action(action(async () => (await import('./commands/load.js')).load));

  program
    .command('stack')
    .description('the applied stack, bottom to top, with build-ids, dependencies and how certain the order is')
    .action(action(async () => (await import('./commands/stack.js')).stack));

  program
    .command('log')
    .description("the hypervisor's livepatch console lines")
    .argument('[name]', 'only the lines about this payload')
    .action(action(async () => (await import('./commands/log.js')).log));

  program
    .command('info')
    .description('the backend, Xen version and build-id')
    .action(action(async () => (await import('./commands/info.js')).info));

  program
    .command('recover')
    .description('roll back (or, with --complete, finish) a load, replace --sequential or sync that was interrupted (its journal)')
    .option('--complete', 'finish the interrupted plan instead of rolling it back')
    .option('--dry-run', 'show the pending journal and the steps recovery would take, and change nothing')
    .action(action(async () => (await import('./commands/recover.js')).recover));

  program
    .command('install')
    .description(
      'preflight, verify and store payload files as installed patches of ' +
        'the Xen build each is for (what `xlp sync` applies, at boot too)',
    )
    .argument('<file...>', 'payload files (.livepatch); each is installed as its file name without extension; FILE.sig is its signature')
    .option('--replace', 'replace a patch installed under the same name with other bytes (default: refused)')
    .option('--dry-run', 'check everything and say what would be installed; store nothing')
    .option(
      '--trust-dir <dir>',
      'the trusted public keys: with any there, payloads need a valid ' +
        'FILE.sig (default /etc/xen-livepatch/trusted-keys) [XLP_TRUST_DIR]',
    )
    .action(action(async () => (await import('./commands/install.js')).install));

  program
    .command('uninstall')
    .description('remove an installed patch (the applied stack is unchanged until `xlp sync`)')
    .argument('<name>')
    .option('--xen-build-id <hex>', 'the Xen build to remove it from (default: the running one if it has it, else the only one that does)')
    .option('--with-dependants', 'also uninstall the patches built on it (refused otherwise)')
    .action(action(async () => (await import('./commands/uninstall.js')).uninstall));

  program
    .command('sync')
    .description('make the applied stack equal the installed patches of the running Xen build; idempotent, journaled')
    .option('--dry-run', 'print the exact plan and change nothing; exits as the sync would')
    .option('--prune', 'also revert and unload payloads xlp did not upload (default: reported as drift, never touched)')
    .option('--boot', 'the boot sync: only adds to the stack; honours the kill switches and the crash-loop guard')
    .addOption(new Option('--quiesce-timeout <duration>', "the hypervisor's own timeout for each action's quiesce (default Xen's 30ms)"))
    .option(
      '--trust-dir <dir>',
      'the trusted public keys: with any there, payloads need a valid ' +
        'FILE.sig (default /etc/xen-livepatch/trusted-keys) [XLP_TRUST_DIR]',
    )
    .action(action(async () => (await import('./commands/sync.js')).sync));

  const boot = program.command('boot').description('the boot sync: a systemd unit that runs `xlp sync --boot` at boot');
  const bootCmd = () => import('./commands/boot.js');
  const systemdDir = () => new Option('--systemd-dir <dir>', "systemd's unit directory (default /etc/systemd/system) [XLP_SYSTEMD_DIR]");
  boot
    .command('enable')
    .description('write the unit (with the paths of this node and this xlp) and enable it')
    .addOption(systemdDir())
    .action(action(async () => (await bootCmd()).enable, NONE));
  boot
    .command('disable')
    .description('disable and remove the unit (applied patches stay)')
    .addOption(systemdDir())
    .action(action(async () => (await bootCmd()).disable, NONE));
  boot
    .command('status')
    .description('whether the unit is enabled, what it runs, and the crash-loop guard')
    .addOption(systemdDir())
    .action(action(async () => (await bootCmd()).status, ['backend', 'mockState', 'stateDir']));
  boot
    .command('clear-guard')
    .description('clear the crash-loop guard a boot sync that never finished left, so the next boot sync runs')
    .action(action(async () => (await bootCmd()).clearGuard, ['backend', 'mockState', 'stateDir']));

  program
    .command('check')
    .description('read payloads and report every reason the hypervisor would refuse (or crash on) them')
    .argument('<payload...>', 'payload files (.livepatch); each is checked as the name its file name gives')
    .option('--xen-build-id <hex>', 'the hypervisor build-id to check .livepatch.xen_depends against ("none": it has none)')
    .option('--symbols <file>', 'the hypervisor symbol table in nm format (e.g. a copy of /proc/xen/xensyms)')
    .option(
      '--xen-version <x.y[.z]>',
      'check as this Xen version loads payloads: 4.14 to 4.22, optionally with ' +
        'the point release, or "head" (default: the running hypervisor\'s, else 4.17)',
    )
    .option('--offline', 'do not read the running hypervisor, even on a Xen host')
    .option(
      '--trust-dir <dir>',
      'the trusted public keys: with any there, payloads need a valid ' +
        'FILE.sig (default /etc/xen-livepatch/trusted-keys) [XLP_TRUST_DIR]',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 no errors, 1 a payload has errors or fatal findings, 2 ' +
        'usage error (bad option, missing file).\nJSON schema: docs/check-json.md.',
    )
    .action(action(async () => (await import('./commands/check.js')).handler, NONE));

  // xlp mock ...: the mock hypervisor's state directory.
  const mock = program.command('mock').description('create and steer the mock hypervisor (a simulated Xen for tests)');
  const mockCmd = () => import('./commands/mock.js');
  mock
    .command('init')
    .description('create a mock hypervisor with the given identity')
    .option(
      '--build-id <hex>',
      "the simulated hypervisor's build-id (payloads must be built " + 'for it; default 10c81f752771eb7e8a6f58df93222a39cbbf93fb)',
    )
    .option('--no-build-id', 'simulate a hypervisor built without a build-id')
    .option(
      '--xen-version <x.y[.z]>',
      'Xen version whose semantics to follow: 4.14 to 4.22, optionally with the point release, or "head"',
      '4.17',
    )
    .option('--symbols <file>', 'hypervisor symbol table in nm format (e.g. a copy of /proc/xen/xensyms)')
    .option('--quiesce-ms <n>', 'delay before scheduled work completes, in ms')
    .option('--rendezvous-ns <n>', 'time the other CPUs take to rendezvous, in ns (more than the action timeout: -EBUSY)')
    .option('--cpus <n>', 'online CPUs')
    .option('--loglvl <lvl>', "Xen's loglvl= (warning: release default, all: show INFO lines)")
    .option('--memory <symbol=hex...>', 'bytes at the start of a hypervisor function (for expectations)')
    .option('--force', 'replace an existing mock hypervisor in that directory')
    .action(action(async () => (await mockCmd()).init, MOCK));
  mock
    .command('hook')
    .argument('<name>', 'payload name')
    .argument('<kind>', 'hook kind: preapply, postapply, prerevert, postrevert, apply, revert, load, unload')
    .description("script what a payload's hook does (default: succeeds)")
    .option('--rc <rc>', 'rc it returns; a sequence like "-1,0" or "-1 then 0" gives one per call, the last repeating')
    .option('--symbol <name>', 'only the hook pointing at this function')
    .option('--printk <line...>', 'lines it prints (printk text, "<3>" for KERN_DEBUG)')
    .option('--calls <fns>', 'Xen functions it calls: revert_payload,revert_payload_tail')
    .option('--fstate <effect>', 'action hooks: consistent, applied, not-applied or unchanged')
    .option('--bug', 'it hits BUG(): the hypervisor panics')
    .option('--clear', 'remove the rule for this payload and kind instead')
    .action(action(async () => (await mockCmd()).hook, MOCK));
  mock
    .command('status')
    .description('show the mock hypervisor: identity, payloads, stack, hook rules, warnings')
    .action(action(async () => (await mockCmd()).status, MOCK));
  mock
    .command('calls')
    .description('show the recorded hook calls')
    .option('--since <seq>', 'only calls after this sequence number')
    .action(action(async () => (await mockCmd()).calls, MOCK));
  mock
    .command('reboot')
    .description('reboot the mock hypervisor: all payloads gone (also clears a panic)')
    .action(action(async () => (await mockCmd()).reboot, MOCK));

  return program;
}

/** Whether `--json` is on the command line (before a `--` that ends the options). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Runs `xlp` with the given arguments and returns the exit code. `raw` are the same arguments as
 * the bytes the process got (`/proc/self/cmdline`), when known: an argument that is not UTF-8 is
 * refused rather than passed on with U+FFFD in place of its bytes.
 */
export async function run(argv: readonly string[], raw?: readonly Uint8Array[], streams?: CliStreams): Promise<ExitCode> {
  const json = wantsJson(argv);
  const out = new Output({ json, quiet: false }, streams?.stdout, streams?.stderr);
  let exitCode: ExitCode = EXIT.OK;
  let usage = '';
  const program = buildProgram(
    (code) => {
      exitCode = code;
    },
    // With --json, commander's words become the message of the JSON error instead.
    {
      writeErr: (text) => (json ? (usage += text) : out.stderr.write(text)),
      writeOut: (text) => out.stdout.write(text),
      ...(streams ? { streams } : {}),
    },
  );
  try {
    const { invalidUtf8Argument, invalidUtf8Environment } = await import('./argv.js');
    const bad = raw ? invalidUtf8Argument(raw) : null;
    if (bad !== null) {
      const { UsageError } = await import('./usage-error.js');
      throw new UsageError(`argument ${bad.index + 1} is not valid UTF-8 (${bad.shown}); xlp takes names and paths as UTF-8 text`);
    }
    const badVariable = raw ? invalidUtf8Environment() : null;
    if (badVariable !== null) {
      const { UsageError } = await import('./usage-error.js');
      throw new UsageError(`${badVariable} is not valid UTF-8; xlp takes names and paths as UTF-8 text`);
    }
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    let failure = error;
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.OK; // --help, --version
      if (!json) return EXIT.USAGE; // commander has said why on stderr
      const { UsageError } = await import('./usage-error.js');
      const said = usage
        .split('\n')
        .map((l) => l.replace(/^xlp: /, '').trim())
        .filter(Boolean);
      failure = new UsageError(
        error.code === 'commander.help'
          ? 'no command given; `xlp --help` lists them'
          : said.join(' ') || error.message.replace(/^error: /, ''),
      );
    }
    const { reportFor } = await import('./error-report.js');
    const r = reportFor(failure);
    out.error(r.report, r.exitCode);
    return r.exitCode;
  }
  return exitCode;
}
