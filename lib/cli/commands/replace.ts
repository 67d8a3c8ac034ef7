import { type ActionCommandOptions, quiesceNs } from '../command-options.js';
import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson } from '../render.js';
import { openLivepatcher } from '../session.js';

export interface ReplaceCommandOptions extends ActionCommandOptions {
  readonly sequential?: boolean;
  readonly force?: boolean;
}

export async function replace([name]: [string], options: ReplaceCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out, { streamSteps: !options.dryRun });
  try {
    const opts = { sequential: options.sequential === true, force: options.force === true, nodeps: options.nodeps === true, ...quiesceNs(options) };
    if (options.dryRun) return printPlan(await lp.planReplace(name, opts), out);
    const r = await lp.replace(name, { ...opts, signal });
    // Text: each step was printed as it completed (see openLivepatcher's streamSteps).
    out.result({ name, sequential: r.sequential, steps: r.steps.map(actionJson) }, () => '');
    return EXIT.OK;
  } finally {
    await done();
  }
}
