import type { ActionCommandOptions } from '../command-options.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText, planJson, planText } from '../render.js';
import { openLivepatcher } from '../session.js';
import { quiesceNs } from './apply.js';

export interface ReplaceCommandOptions extends ActionCommandOptions {
  readonly sequential?: boolean;
  readonly force?: boolean;
}

export async function replace([name]: [string], options: ReplaceCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    const opts = { sequential: options.sequential === true, force: options.force === true, nodeps: options.nodeps === true, ...quiesceNs(options) };
    if (options.dryRun) {
      const plan = await lp.planReplace(name, opts);
      out.result(planJson(plan), () => planText(plan));
      return EXIT.OK;
    }
    const r = await lp.replace(name, opts);
    out.result({ name, sequential: r.sequential, steps: r.steps.map(actionJson) }, () => r.steps.map(actionText).join('\n'));
    return EXIT.OK;
  } finally {
    await done();
  }
}
