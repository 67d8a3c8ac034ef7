import type { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import { parseDuration } from './parse.js';
import type { BackendOptions } from './session.js';
import { UsageError } from './usage-error.js';

/** Options every command takes. */
export interface CommonOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** What each command module exports for main.ts to run: its arguments, options and output in, its exit code out. */
export type CommandHandler<A extends unknown[], O> = (args: A, options: O & CommonOptions, out: Output) => Promise<ExitCode>;

/** Options shared by the commands that act on payloads. */
export interface ActionCommandOptions extends BackendOptions {
  readonly dryRun?: boolean;
  readonly nodeps?: boolean;
  readonly quiesceTimeout?: string;
}

/** `--quiesce-timeout` as the hypervisor's u32 nanoseconds. */
export function quiesceNs(options: ActionCommandOptions): { quiesceTimeoutNs?: number } {
  if (!options.quiesceTimeout) return {};
  const ns = parseDuration(options.quiesceTimeout, '--quiesce-timeout') * 1e6;
  if (ns > 0xffff_ffff) throw new UsageError(`--quiesce-timeout: at most 4294ms (Xen takes a 32-bit number of nanoseconds), not ${options.quiesceTimeout}`);
  return { quiesceTimeoutNs: ns };
}
