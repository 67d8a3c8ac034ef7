import type { ActionCommandOptions } from '../command-options.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText, planJson, planText } from '../render.js';
import { openLivepatcher } from '../session.js';
import { quiesceNs } from './apply.js';

export async function revert([name]: [string], options: ActionCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    if (options.dryRun) {
      const plan = await lp.planRevert(name);
      out.result(planJson(plan), () => planText(plan));
      return EXIT.OK;
    }
    const r = await lp.revert(name, quiesceNs(options));
    out.result(actionJson(r), () => actionText(r));
    return EXIT.OK;
  } finally {
    await done();
  }
}
