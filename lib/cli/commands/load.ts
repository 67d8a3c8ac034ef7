import type { ActionCommandOptions } from '../command-options.js';
import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText, diagnosticJson } from '../render.js';
import { openLivepatcher } from '../session.js';
import { quiesceNs } from './apply.js';

export interface LoadCommandOptions extends ActionCommandOptions {
  readonly name?: string;
  readonly force?: boolean;
  readonly keep?: boolean;
}

export async function load([file]: [string], options: LoadCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out);
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
    out.result({ name: r.payload, upload: { bytes: r.upload.bytes, warnings: warnings.map(diagnosticJson) }, apply: actionJson(r.apply) }, () =>
      [`uploaded ${r.payload} (${r.upload.bytes} bytes)`, ...warnings.map((w) => `  ${w.severity} ${w.code}: ${w.message}`), actionText(r.apply, out)].join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
