// Preflight's verdict vs the hypervisor's, for every valid and malformed fixture: preflight runs
// here with the running system as context, then the payload is uploaded for real, and the two must
// agree on accept/reject and on the errno (and on the console line, where preflight names one).
// A payload preflight rates fatal (it would crash Xen) is never uploaded: the case passes only if
// the catalogue says the hypervisor crashes on it, too.
import type { Backend } from '../../../../lib/mock/index.js';
import { XenError } from '../../../../lib/mock/index.js';
// Not on a public entry point: the symbols a loaded payload adds, as Xen counts them.
import { loadedPayloadInfo } from '../../../../lib/payload/index.js';
import { preflight, type Diagnostic, type LoadedPayloadInfo, type PreflightReport, type XenVersionInfo, xenVersionFromHypervisor } from '../../../../lib/index.js';
import type { FixtureCase } from '../plan.js';
import { check, plan, readStaged, runChild, sleep, stagePath } from './common.js';
import { TCG_QUIESCE_NS } from './rawlist.js';

const MAX_NAME = 127;

/**
 * The hypervisor's console lines of one upload, as preflight's prediction covers them: every `(XEN) `
 * line but the INFO line `apply_alternatives` prints for any payload with alternatives (`alt table
 * %p -> %p`, modelled nowhere: it says nothing about a verdict) and the serial driver's own notice.
 */
export function verdictLines(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith('(XEN) ') && !l.startsWith('(XEN) alt table ') && !l.includes('uart interrupt taking more than'));
}

interface Verdict {
  errno: number;
  console: string[];
  via: 'addon' | 'xen-livepatch';
  message?: string;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

/** UPLOAD on the real hypervisor: 0 or the positive errno, and the console lines it printed. */
async function realUpload(backend: Backend, name: string, bytes: Buffer, file: string): Promise<Verdict> {
  await backend.readConsole({ incremental: true });
  if (Buffer.byteLength(name) > MAX_NAME) {
    // The addon refuses such a name itself (RangeError) before libxenctrl sees it; the C tool
    // hands it to libxenctrl, whose verdict is the one to compare with.
    const r = await runChild('xen-livepatch', ['upload', name, stagePath(file)]);
    const m = /Error (\d+)/.exec(r.stdout + r.stderr);
    return { errno: r.code === 0 ? 0 : m ? Number(m[1]) : -1, console: lines(await backend.readConsole({ incremental: true })), via: 'xen-livepatch', message: (r.stdout + r.stderr).trim() };
  }
  let errno = 0;
  let message: string | undefined;
  try {
    await backend.upload(name, new Uint8Array(bytes));
  } catch (e) {
    if (!(e instanceof XenError)) throw e;
    errno = e.errno;
    message = e.message;
  }
  await sleep(5);
  return { errno, console: lines(await backend.readConsole({ incremental: true })), via: 'addon', ...(message ? { message } : {}) };
}

/** APPLY on the real hypervisor, waited for: 0 or the errno (synchronous, or the status rc after the work ran). */
async function realApply(backend: Backend, name: string): Promise<{ errno: number; status?: unknown; console: string[] }> {
  await backend.readConsole({ incremental: true });
  let errno = 0;
  try {
    await backend.action(name, 'APPLY', { timeoutNs: TCG_QUIESCE_NS });
    for (let i = 0; i < 500; i++) {
      const s = await backend.get(name);
      if (s.rc !== -11) {
        errno = s.rc < 0 ? -s.rc : 0;
        break;
      }
      await sleep(2);
    }
  } catch (e) {
    if (!(e instanceof XenError)) throw e;
    errno = e.errno;
  }
  const status = await backend.get(name).catch(() => 'absent');
  return { errno, status, console: lines(await backend.readConsole({ incremental: true })) };
}

async function cleanUp(backend: Backend, problems: string[]): Promise<void> {
  for (const e of (await backend.list()).reverse()) {
    if (e.state === 'APPLIED') {
      await backend.action(e.name, 'REVERT', { timeoutNs: TCG_QUIESCE_NS });
      for (let i = 0; i < 500 && (await backend.get(e.name)).rc === -11; i++) await sleep(2);
    }
  }
  for (const e of await backend.list()) {
    try {
      await backend.action(e.name, 'UNLOAD');
    } catch (err) {
      problems.push(`clean-up: unload ${e.name}: ${String(err)}`);
    }
  }
}

const show = (d: Diagnostic | null | undefined) => (d ? `${d.code} (errno ${d.errno})` : 'accepted');

/** Console lines of preflight's prediction, with the `(XEN) ` prefix added. */
export function predictedConsole(d: Diagnostic | null): string[] | null {
  if (!d) return [];
  if (d.console === undefined) return null; // preflight says: nothing printed in a release build
  return d.console.split('\n').map((l) => `(XEN) ${l}`);
}

export async function runPreflightCases(backend: Backend, version: XenVersionInfo, xensyms: Map<string, bigint>, only?: (c: FixtureCase) => boolean): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  const xen = plan.xen.buildId;
  // Preflight checks as the running hypervisor loads payloads (Debian 13's 4.20.5-pre: as 4.20.4).
  const xenVersion = xenVersionFromHypervisor(version);
  for (const c of plan.fixtures) {
    if (only && !only(c)) continue;
    await check(`preflight ${c.id}`, async (problems) => {
      const loaded: LoadedPayloadInfo[] = [];
      for (const b of c.before) {
        const bytes = readStaged(b.file);
        const pre = preflight(new Uint8Array(bytes), { name: b.name, xenVersion, context: { xenBuildId: xen, xenSymbols: xensyms, loaded: [...loaded], appliedBuildIds: [] } });
        if (pre.fatal || pre.uploadError) throw new Error(`set-up payload ${b.name} is not uploadable: ${show(pre.uploadError)}`);
        await backend.upload(b.name, new Uint8Array(bytes));
        if (pre.payload) loaded.push(loadedPayloadInfo(b.name, pre.payload));
      }
      const bytes = readStaged(c.file);
      const report: PreflightReport = preflight(new Uint8Array(bytes), {
        name: c.name,
        xenVersion,
        context: { xenBuildId: xen, xenSymbols: xensyms, loaded, appliedBuildIds: [] },
      });
      const predicted = report.uploadError;
      const data: Record<string, unknown> = {
        kind: c.kind,
        title: c.title,
        catalogueCode: c.code,
        preflight: predicted ? { code: predicted.code, errno: predicted.errno, console: predicted.console ?? null } : null,
        fatal: report.fatal,
      };
      if (report.fatal || c.expectFatal) {
        // Never uploaded: the hypervisor would crash (the catalogue's rule says so, verified or read in Xen's code).
        if (!report.fatal) problems.push(`the catalogue marks ${c.code} fatal (it crashes Xen) but preflight does not: NOT uploaded`);
        else if (!c.expectFatal) problems.push(`preflight rates it fatal (${report.diagnostics.filter((d) => d.severity === 'fatal').map((d) => d.code).join(', ')}) but the catalogue does not: not uploaded, so not compared`);
        data.uploaded = false;
        await cleanUp(backend, problems);
        out.push({ id: c.id, ...data, problems: [...problems] });
        return data;
      }
      const real = await realUpload(backend, c.name, bytes, c.file);
      data.real = real;
      const want = predicted?.errno ?? 0;
      if (want !== real.errno) problems.push(`preflight says ${show(predicted)}, the hypervisor ${real.errno ? `refused it with errno ${real.errno}` : 'accepted it'}`);
      const consoleWanted = predictedConsole(predicted);
      const realLp = verdictLines(real.console);
      if (consoleWanted !== null && real.errno === want) {
        const same = consoleWanted.length === realLp.length && consoleWanted.every((l, i) => l === realLp[i]!.replace(/\b[0-9a-f]{16}\b/g, '<addr>'));
        if (!same) problems.push(`console: preflight predicts ${JSON.stringify(consoleWanted)}, the hypervisor printed ${JSON.stringify(realLp)}`);
      } else if (consoleWanted === null && predicted && realLp.length) {
        problems.push(`console: preflight says the hypervisor prints nothing for ${predicted.code}, it printed ${JSON.stringify(realLp)}`);
      }
      // Checks Xen makes at APPLY time (dependencies on an empty stack, expectations): apply for real.
      const applyError = report.diagnostics.find((d) => d.group === 'apply' && (d.severity === 'error' || d.severity === 'fatal')) ?? null;
      if (real.errno === 0 && applyError) {
        const applied = await realApply(backend, c.name);
        data.apply = { preflight: { code: applyError.code, errno: applyError.errno }, real: applied };
        if (applied.errno !== applyError.errno) problems.push(`at APPLY preflight says ${show(applyError)}, the hypervisor ${applied.errno ? `failed with errno ${applied.errno}` : 'applied it'}`);
      }
      await cleanUp(backend, problems);
      out.push({ id: c.id, ...data, problems: [...problems] });
      return data;
    });
  }
  return out;
}
