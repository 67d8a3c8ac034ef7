import type { PreflightReport } from '../../preflight/types.js';
import { errnoCode, errnoMessage } from '../../xen/errno.js';
import { XenError } from '../../xen/errors.js';
import { eventsFor } from '../console-events.js';
import { UploadFailedError } from '../errors.js';
import { type Plan, simpleStep } from '../plan.js';
import { readSource } from '../source.js';
import type { PayloadSource, UploadOptions, UploadResult } from '../types.js';
import type { Workspace } from '../workspace.js';
import type { OperationContext } from './context.js';
import { checkSignal, diagnosticWarnings, preflightRefusal, withRefusal } from './refusals.js';

/** `Livepatcher.planUpload`. */
export async function planUpload({ ws }: OperationContext, name: string, source: PayloadSource, options: UploadOptions): Promise<Plan> {
  const { bytes } = await readSource(source, name);
  const report = await ws.preflightWithContext(bytes, name);
  const refusal = (await ws.journalRefusal()) ?? preflightRefusal(name, report, options.force === true);
  return withRefusal(
    {
      command: `upload ${name}`,
      steps: [simpleStep('UPLOAD', name, `${bytes.length} bytes; no hooks run at upload`)],
      warnings: diagnosticWarnings(report, refusal !== null, 'upload'),
    },
    refusal,
  );
}

/** `Livepatcher.upload`: preflight and upload (the payload is then CHECKED). */
export async function upload(ops: OperationContext, name: string, source: PayloadSource, options: UploadOptions): Promise<UploadResult> {
  const { ws } = ops;
  checkSignal(options.signal, 'upload');
  const { bytes } = await readSource(source, name);
  ws.emit({ phase: 'preflight', payload: name });
  const report = await ws.preflightWithContext(bytes, name);
  const refusal = preflightRefusal(name, report, options.force === true);
  if (refusal) throw refusal;
  return ops.mutate(`upload ${name}`, options.signal, () => uploadChecked(ws, name, bytes, report));
}

/** The UPLOAD of a payload preflight passed, recorded in xlp's registry; shared with `load`. */
export async function uploadChecked(ws: Workspace, name: string, bytes: Uint8Array, report: PreflightReport): Promise<UploadResult> {
  ws.emit({ phase: 'uploading', payload: name, bytes: bytes.length });
  await ws.console.sync();
  try {
    await ws.backend.upload(name, bytes);
  } catch (error) {
    if (!(error instanceof XenError)) throw error;
    const lines = eventsFor((await ws.console.read()).join('\n'), name).flatMap((e) => e.lines);
    const predicted = report.uploadError
      ? `preflight predicted ${report.uploadError.code} (${errnoCode(report.uploadError.errno ?? 0)})`
      : 'preflight predicted it would be accepted: please report this disagreement';
    throw new UploadFailedError(name, error.errno, `${errnoMessage(error.errno)} (${error.code}); ${predicted}`, lines);
  }
  if (report.payload) await ws.registry.record(name, bytes, report.payload);
  const findings = report.diagnostics.filter((d) => d.severity === 'warning' || d.severity === 'error');
  ws.emit({
    phase: 'done',
    payload: name,
    action: 'UPLOAD',
    outcome: 'done',
    status: { state: 'CHECKED', rc: 0 },
    bytes: bytes.length,
    findings,
  });
  return { payload: name, outcome: 'done', bytes: bytes.length, report };
}
