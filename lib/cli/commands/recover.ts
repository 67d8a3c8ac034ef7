import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson } from '../render.js';
import { type BackendOptions, openLivepatcher } from '../session.js';

export interface RecoverCommandOptions extends BackendOptions {
  readonly complete?: boolean;
  readonly dryRun?: boolean;
}

export async function recover(_args: [], options: RecoverCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out, { reportJournal: false, streamSteps: !options.dryRun });
  try {
    if (options.dryRun) {
      const { journal, ...plan } = await lp.planRecover({ complete: options.complete === true });
      return printPlan(plan, out, { journal });
    }
    const r = await lp.recover({ complete: options.complete === true, signal });
    out.result({ mode: r.mode, journal: r.journal, steps: r.steps.map(actionJson) }, () =>
      r.journal
        ? `${r.mode === 'complete' ? 'completed' : 'rolled back'} ` +
          `${r.journal.endedAt ? 'what' : 'the interrupted'} \`${r.journal.command}\`${r.journal.endedAt ? ' left' : ''}`
        : 'nothing to recover',
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
