import type { ActionCommandOptions } from '../command-options.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { actionJson, actionText, planJson, planText } from '../render.js';
import { openLivepatcher } from '../session.js';
import { quiesceNs } from './apply.js';

export interface LoadCommandOptions extends ActionCommandOptions {
  readonly name?: string;
  readonly force?: boolean;
  readonly keep?: boolean;
}

export async function load([file]: [string], options: LoadCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    const opts = {
      ...(options.name === undefined ? {} : { name: options.name }),
      nodeps: options.nodeps === true,
      force: options.force === true,
      keep: options.keep === true,
      ...quiesceNs(options),
    };
    if (options.dryRun) {
      const plan = await lp.planLoad(file, opts);
      out.result(planJson(plan), () => planText(plan));
      return EXIT.OK;
    }
    const r = await lp.load(file, opts);
    const warnings = r.upload.report.diagnostics.filter((d) => d.severity === 'warning');
    out.result({ name: r.payload, upload: { bytes: r.upload.bytes, warnings }, apply: actionJson(r.apply) }, () =>
      [`uploaded ${r.payload} (${r.upload.bytes} bytes)`, ...warnings.map((w) => `  warning ${w.code}: ${w.message}`), actionText(r.apply)].join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
