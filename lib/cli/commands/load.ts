import { type ActionCommandOptions, quiesceNs } from '../command-options.js';
import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, diagnosticJson } from '../render.js';
import { openLivepatcher } from '../session.js';

export interface LoadCommandOptions extends ActionCommandOptions {
  readonly name?: string;
  readonly force?: boolean;
  readonly keep?: boolean;
}

export async function load([file]: [string], options: LoadCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out, { streamSteps: !options.dryRun });
  try {
    const opts = {
      ...(options.name === undefined ? {} : { name: options.name }),
      nodeps: options.nodeps === true,
      force: options.force === true,
      keep: options.keep === true,
      ...quiesceNs(options),
    };
    if (options.dryRun) return printPlan(await lp.planLoad(file, opts), out);
    const r = await lp.load(file, { ...opts, signal });
    const warnings = r.upload.report.diagnostics.filter((d) => d.severity !== 'info');
    // Text: each step was printed as it completed (see openLivepatcher's streamSteps).
    out.result({ name: r.payload, upload: { bytes: r.upload.bytes, warnings: warnings.map(diagnosticJson) }, apply: actionJson(r.apply) }, () => '');
    return EXIT.OK;
  } finally {
    await done();
  }
}
