import type { ActionCommandOptions } from '../command-options.js';
import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { parseDuration } from '../parse.js';
import { UsageError } from '../usage-error.js';
import { actionJson, actionText } from '../render.js';
import { openLivepatcher } from '../session.js';

/** `--quiesce-timeout` as the hypervisor's u32 nanoseconds. */
export function quiesceNs(options: ActionCommandOptions): { quiesceTimeoutNs?: number } {
  if (!options.quiesceTimeout) return {};
  const ns = parseDuration(options.quiesceTimeout, '--quiesce-timeout') * 1e6;
  if (ns > 0xffff_ffff) throw new UsageError(`--quiesce-timeout: at most 4294ms (Xen takes a 32-bit number of nanoseconds), not ${options.quiesceTimeout}`);
  return { quiesceTimeoutNs: ns };
}

export async function apply([name]: [string], options: ActionCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out);
  try {
    if (options.dryRun) return printPlan(await lp.planApply(name, { nodeps: options.nodeps === true }), out);
    const r = await lp.apply(name, { nodeps: options.nodeps === true, signal, ...quiesceNs(options) });
    out.result(actionJson(r), () => actionText(r, out));
    return EXIT.OK;
  } finally {
    await done();
  }
}
