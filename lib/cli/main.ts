/**
 * `xlp`: the command line. This module only declares the commands; each command's code is
 * imported when it runs, so `xlp --version` and `xlp list` load no more than they use.
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, EXIT_CODES_HELP, type ExitCode } from './exit-codes.js';
import { Output } from './output.js';

/** Options every command takes. */
export interface CommonOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export type CommandHandler<A extends unknown[], O> = (args: A, options: O & CommonOptions, out: Output) => Promise<ExitCode>;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--json', 'print the result (or {"error": ...}) as JSON on stdout; schemas in docs/cli.md'))
    .addOption(new Option('-q, --quiet', 'print nothing but errors'));
}

/** Options of every command that talks to a hypervisor. */
function withBackend(cmd: Command): Command {
  return common(cmd)
    .addOption(new Option('--backend <kind>', 'native (libxenctrl, on a Xen dom0) or mock (the simulator)').env('XLP_BACKEND'))
    .addOption(new Option('--mock-state <dir>', "the mock hypervisor's state directory (default $XDG_STATE_HOME/xen-livepatch/mock)").env('XLP_MOCK_STATE'))
    .addOption(
      new Option('--state-dir <dir>', 'host lock, journal and payload registry (default: /var/lib/xen-livepatch as root, else $XDG_STATE_HOME/xen-livepatch; mock: <mock-state>/workflow)').env(
        'XLP_STATE_DIR',
      ),
    )
    .addOption(new Option('--lock-timeout <duration>', 'how long to wait for another xlp holding the host lock (default 10s)'))
    .addOption(new Option('--timeout <duration>', 'how long to wait for an action to complete (default 30s; e.g. 500ms, 30s, 2m)'));
}

/** Options of the commands that apply, revert, replace or unload. */
function withAction(cmd: Command): Command {
  return withBackend(cmd)
    .addOption(new Option('--dry-run', 'print the plan (steps and the hooks that will run, in order) and change nothing; exits as the command would if xlp would refuse it'))
    .addOption(new Option('--quiesce-timeout <duration>', "the hypervisor's own timeout for the quiesce (default Xen's 30ms)"));
}

export function buildProgram(onExit: (code: ExitCode) => void): Command {
  const program = new Command('xlp')
    .description('Xen livepatch: upload, apply, revert, replace and inspect hypervisor live patches')
    .version(packageVersion(), '-V, --version')
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\nBackends: --backend native (default on a Xen dom0) or --backend mock (XLP_BACKEND). Full reference: docs/cli.md`)
    .showSuggestionAfterError()
    .exitOverride();

  const action =
    <A extends unknown[], O>(load: () => Promise<CommandHandler<A, O>>) =>
    async (...all: unknown[]): Promise<void> => {
      // commander passes the positional arguments, then the options object, then the command.
      const cmd = all[all.length - 1] as Command;
      const options = cmd.opts<O & CommonOptions>();
      const args = all.slice(0, -2) as A;
      const out = new Output({ json: options.json === true, quiet: options.quiet === true });
      try {
        const handler = await load();
        onExit(await handler(args, options, out));
      } catch (error) {
        const { reportFor } = await import('./error-report.js');
        const { report, exitCode } = reportFor(error);
        out.error(report, exitCode);
        onExit(exitCode);
      }
    };

  withBackend(program.command('list'))
    .description('list every loaded payload with its state, rc and metadata')
    .action(action(async () => (await import('./commands/list.js')).list));

  withBackend(program.command('status'))
    .description("one payload's state and rc")
    .argument('<name>')
    .action(action(async () => (await import('./commands/status.js')).status));

  withAction(program.command('upload'))
    .description('preflight and upload a payload (it is CHECKED, not applied); refused on preflight errors (exit 6)')
    .argument('<name>')
    .argument('<file>')
    .option('--force', 'upload despite preflight errors (never despite a fatal finding)')
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
    .description('make this (uploaded) payload the only applied one: Xen\'s atomic REPLACE, refused up front when vetoing hooks are involved; or --sequential')
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
    .action(action(async () => (await import('./commands/load.js')).load));

  withBackend(program.command('stack'))
    .description("the applied stack, bottom to top, with build-ids and dependencies from the hypervisor's x dump")
    .action(action(async () => (await import('./commands/stack.js')).stack));

  withBackend(program.command('log'))
    .description("the hypervisor's livepatch console lines")
    .argument('[name]', 'only the lines about this payload')
    .action(action(async () => (await import('./commands/log.js')).log));

  withBackend(program.command('info'))
    .description('the backend, Xen version and build-id')
    .action(action(async () => (await import('./commands/info.js')).info));

  withBackend(program.command('recover'))
    .description('roll back (or, with --complete, finish) a load or replace --sequential that was interrupted (its journal)')
    .option('--complete', 'finish the interrupted plan instead of rolling it back')
    .option('--dry-run', 'show the pending journal and the steps recovery would take, and change nothing')
    .action(action(async () => (await import('./commands/recover.js')).recover));

  common(program.command('check'))
    .description('read payloads and report every reason the hypervisor would refuse (or crash on) them')
    .argument('<payload...>', 'payload files (.livepatch); each is checked as the name its file name gives')
    .option('--xen-build-id <hex>', 'the hypervisor build-id to check .livepatch.xen_depends against ("none": it has none)')
    .option('--symbols <file>', 'the hypervisor symbol table in nm format (e.g. a copy of /proc/xen/xensyms)')
    .option('--xen-version <x.y[.z]>', 'check as this Xen version loads payloads: 4.14 to 4.22, optionally with the point release, or "head" (default: the running hypervisor\'s, else 4.17)')
    .option('--offline', 'do not read the running hypervisor, even on a Xen host')
    .addHelpText('after', '\nExit codes: 0 no errors, 1 a payload has errors or fatal findings, 2 usage error (bad option, missing file).\nJSON schema: docs/check-json.md.')
    .action(action(async () => (await import('./commands/check.js')).handler));

  // xlp mock ...: the mock hypervisor's state directory.
  const mock = program.command('mock').description('create and steer the mock hypervisor (a simulated Xen for tests)');
  const mockState = (cmd: Command) => common(cmd).addOption(new Option('--mock-state <dir>', 'mock state directory (default $XLP_MOCK_STATE, else $XDG_STATE_HOME/xen-livepatch/mock)'));
  const mockCmd = () => import('./commands/mock.js');
  mockState(mock.command('init'))
    .description('create a mock hypervisor with the given identity')
    .option('--build-id <hex>', "the simulated hypervisor's build-id (payloads must be built for it; default 10c81f752771eb7e8a6f58df93222a39cbbf93fb)")
    .option('--no-build-id', 'simulate a hypervisor built without a build-id')
    .option('--xen-version <x.y[.z]>', 'Xen version whose semantics to follow: 4.14 to 4.22, optionally with the point release, or "head"', '4.17')
    .option('--symbols <file>', 'hypervisor symbol table in nm format (e.g. a copy of /proc/xen/xensyms)')
    .option('--quiesce-ms <n>', 'delay before scheduled work completes, in ms')
    .option('--rendezvous-ns <n>', 'time the other CPUs take to rendezvous, in ns (more than the action timeout: -EBUSY)')
    .option('--cpus <n>', 'online CPUs')
    .option('--loglvl <lvl>', "Xen's loglvl= (warning: release default, all: show INFO lines)")
    .option('--memory <symbol=hex...>', 'bytes at the start of a hypervisor function (for expectations)')
    .option('--force', 'replace an existing mock hypervisor in that directory')
    .action(action(async () => (await mockCmd()).init));
  mockState(mock.command('hook').argument('<name>', 'payload name').argument('<kind>', 'hook kind: preapply, postapply, prerevert, postrevert, apply, revert, load, unload'))
    .description("script what a payload's hook does (default: succeeds)")
    .option('--rc <rc>', 'rc it returns; a sequence like "-1,0" or "-1 then 0" gives one per call, the last repeating')
    .option('--symbol <name>', 'only the hook pointing at this function')
    .option('--printk <line...>', 'lines it prints (printk text, "<3>" for KERN_DEBUG)')
    .option('--calls <fns>', 'Xen functions it calls: revert_payload,revert_payload_tail')
    .option('--fstate <effect>', 'action hooks: consistent, applied, not-applied or unchanged')
    .option('--bug', 'it hits BUG(): the hypervisor panics')
    .option('--clear', 'remove the rule for this payload and kind instead')
    .action(action(async () => (await mockCmd()).hook));
  mockState(mock.command('status')).description('show the mock hypervisor: identity, payloads, stack, hook rules, warnings').action(action(async () => (await mockCmd()).status));
  mockState(mock.command('calls')).description('show the recorded hook calls').option('--since <seq>', 'only calls after this sequence number').action(action(async () => (await mockCmd()).calls));
  mockState(mock.command('reboot')).description('reboot the mock hypervisor: all payloads gone (also clears a panic)').action(action(async () => (await mockCmd()).reboot));

  return program;
}

/** Runs `xlp` with the given arguments and returns the exit code. */
export async function run(argv: readonly string[]): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; everything else commander refuses is usage.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    throw error;
  }
  return exitCode;
}
