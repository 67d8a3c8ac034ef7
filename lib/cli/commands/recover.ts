import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText } from '../render.js';
import { type BackendOptions, openLivepatcher } from '../session.js';

export interface RecoverCommandOptions extends BackendOptions {
  readonly complete?: boolean;
  readonly dryRun?: boolean;
}

export async function recover(_args: [], options: RecoverCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    if (options.dryRun) {
      const journal = await lp.pendingJournal();
      out.result({ journal }, () => (journal ? `pending: ${journal.command}\n${JSON.stringify(journal.steps, null, 2)}` : 'nothing to recover'));
      return EXIT.OK;
    }
    const r = await lp.recover({ complete: options.complete === true });
    out.result({ mode: r.mode, journal: r.journal, steps: r.steps.map(actionJson) }, () =>
      r.journal
        ? [`${r.mode === 'complete' ? 'completed' : 'rolled back'} the interrupted \`${r.journal.command}\``, ...r.steps.map(actionText)].join('\n')
        : 'nothing to recover',
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
