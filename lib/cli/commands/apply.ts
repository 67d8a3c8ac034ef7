import { type ActionCommandOptions, quiesceNs } from '../command-options.js';
import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText } from '../render.js';
import { openLivepatcher } from '../session.js';

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
