import { type ActionCommandOptions, quiesceNs } from '../command-options.js';
import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText } from '../render.js';
import { openLivepatcher } from '../session.js';

export async function revert([name]: [string], options: ActionCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out);
  try {
    if (options.dryRun) return printPlan(await lp.planRevert(name), out);
    const r = await lp.revert(name, { signal, ...quiesceNs(options) });
    out.result(actionJson(r), () => actionText(r, out));
    return EXIT.OK;
  } finally {
    await done();
  }
}
