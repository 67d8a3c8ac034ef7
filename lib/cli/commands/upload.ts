import { printPlan } from '../dry-run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { diagnosticJson, uploadText } from '../render.js';
import { signedPayloadSource, type TrustOptions } from '../lifecycle-options.js';
import { type BackendOptions, openLivepatcher } from '../session.js';

export interface UploadCommandOptions extends BackendOptions, TrustOptions {
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

export async function upload([name, file]: [string, string], options: UploadCommandOptions, out: Output): Promise<ExitCode> {
  const { lp, done, signal } = await openLivepatcher(options, out);
  try {
    // Read once: the signature policy judges the bytes that are uploaded.
    const { bytes } = await signedPayloadSource(file, options, name);
    if (options.dryRun) return printPlan(await lp.planUpload(name, bytes, { force: options.force === true }), out);
    const r = await lp.upload(name, bytes, { force: options.force === true, signal });
    const warnings = r.report.diagnostics.filter((d) => d.severity !== 'info');
    out.result({ name, outcome: r.outcome, bytes: r.bytes, state: 'CHECKED', rc: 0, warnings: warnings.map(diagnosticJson) }, () =>
      uploadText(name, r.bytes, warnings),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
