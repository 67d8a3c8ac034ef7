import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { planJson, planText } from '../render.js';
import { type BackendOptions, openLivepatcher } from '../session.js';

export interface UploadCommandOptions extends BackendOptions {
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

export async function upload([name, file]: [string, string], options: UploadCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    if (options.dryRun) {
      const plan = await lp.planLoad(file, { name });
      const uploadOnly = { ...plan, command: `upload ${name}`, steps: plan.steps.slice(0, 1) };
      out.result(planJson(uploadOnly), () => planText(uploadOnly));
      return EXIT.OK;
    }
    const r = await lp.upload(name, file, { force: options.force === true });
    const warnings = r.report.diagnostics.filter((d) => d.severity === 'warning');
    out.result({ name, outcome: r.outcome, bytes: r.bytes, state: 'CHECKED', rc: 0, warnings }, () =>
      [`uploaded ${name} (${r.bytes} bytes)`, ...warnings.map((w) => `  warning ${w.code}: ${w.message}`)].join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
