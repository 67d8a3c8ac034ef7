import { readFile } from 'node:fs/promises';
import { readRegularFile, ReadFileError } from '../../fs/index.js';
import { defaultStateDir, type KnownPayloads, loadSystemContext, type SystemContext, type SystemContextDeps } from '../../host/index.js';
import { preflight, type PreflightContext } from '../../preflight/index.js';
import { DEFAULT_XEN_VERSION, ERRNO, formatXenVersion, parseNmSymbols, type XenVersion } from '../../xen/index.js';
import { type CheckedPayloadJson, checkedPayloadJson, type CheckContextJson, type CheckJson, CHECK_SCHEMA } from '../check-json.js';
import { checkText } from '../check-report.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommonOptions } from '../command-options.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';
import { parseXenVersionOption } from '../xen-version-option.js';
import { parseBuildId } from '../parse.js';
import { payloadNameOf } from '../../payload/index.js';
import { stateDirOf } from '../session.js';

export interface CheckOptions {
  readonly trustDir?: string;
  /** Whose registry (build-ids and symbols of the payloads xlp uploaded) a dom0's context includes. */
  readonly stateDir?: string;
  readonly xenBuildId?: string;
  readonly symbols?: string;
  readonly xenVersion?: string;
  readonly offline?: boolean;
}

export interface CheckDeps {
  /** How to read the running system; absent means the real one. */
  readonly system?: SystemContextDeps;
  /** xlp's registry of the payloads it uploaded; absent means the one in the state directory. */
  readonly known?: KnownPayloads;
}

function parseBuildIdOption(value: string): string | null {
  return value.toLowerCase() === 'none' ? null : parseBuildId(value, '--xen-build-id');
}

async function readSymbolsOption(file: string): Promise<NonNullable<PreflightContext['xenSymbols']>> {
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch (e) {
    throw new UsageError(`--symbols: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { symbols, errors } = parseNmSymbols(text);
  if (errors.length || symbols.size === 0) {
    const first = errors[0];
    throw new UsageError(
      `--symbols: ${file} is not an nm-format symbol ` +
        `table${first ? ` (line ${first.line}: ${JSON.stringify(first.text)})` : ' (no symbols)'}`,
    );
  }
  return symbols;
}

/** The file as `check` reads it: whole, whatever its size (preflight reports one Xen would refuse). */
async function readPayloadFile(file: string): Promise<Buffer> {
  try {
    return await readRegularFile(file);
  } catch (e) {
    if (!(e instanceof ReadFileError)) throw e;
    throw new UsageError(e.problem === 'not-regular' ? e.message : `${file}: ${e.errno === ERRNO.ENOENT ? 'no such file' : e.message}`);
  }
}

interface ContextFlags {
  readonly xenBuildId: string | null | undefined;
  readonly xenSymbols: PreflightContext['xenSymbols'];
}

/** The context flags, validated before anything else is read. */
async function contextFlags(options: CheckOptions): Promise<ContextFlags> {
  return {
    xenBuildId: options.xenBuildId === undefined ? undefined : parseBuildIdOption(options.xenBuildId),
    xenSymbols: options.symbols === undefined ? undefined : await readSymbolsOption(options.symbols),
  };
}

/** xlp's registry in `stateDir`, loaded only when a dom0's context is read (most checks run offline). */
function stateDirRegistry(stateDir: string): KnownPayloads {
  return { all: async () => (await import('../../workflow/index.js')).PayloadRegistry.inStateDir(stateDir).all() };
}

/** Builds the context: the running system unless --offline, then the flags on top. */
async function checkContext(
  options: CheckOptions,
  { xenBuildId, xenSymbols }: ContextFlags,
  deps: CheckDeps,
): Promise<{ context: PreflightContext | undefined; json: CheckContextJson; running: SystemContext['xen'] }> {
  const known = deps.known ?? stateDirRegistry(stateDirOf(options, defaultStateDir));
  const system: SystemContext = options.offline ? { context: null, notes: [] } : await loadSystemContext(deps.system, known);
  let context: PreflightContext | undefined = system.context ?? undefined;
  if (xenBuildId !== undefined || xenSymbols !== undefined) {
    context = { ...(context ?? {}), ...(xenBuildId !== undefined ? { xenBuildId } : {}), ...(xenSymbols ? { xenSymbols } : {}) };
  }
  const source = system.context ? 'system' : context ? 'flags' : 'offline';
  return {
    context,
    running: system.xen,
    json: {
      source,
      ...(system.xen ? { xenVersion: system.xen.reported } : {}),
      ...(context && context.xenBuildId !== undefined ? { xenBuildId: context.xenBuildId } : {}),
      xenSymbols: context?.xenSymbols?.size ?? null,
      loaded: context?.loaded?.map((l) => l.name) ?? null,
      notes: system.notes,
    },
  };
}

export async function runCheck(
  files: readonly string[],
  options: CheckOptions & CommonOptions,
  out: Output,
  deps: CheckDeps = {},
): Promise<ExitCode> {
  const asked = options.xenVersion === undefined ? undefined : parseXenVersionOption(options.xenVersion);
  const flags = await contextFlags(options);
  // Read every input before checking anything: a missing file is a usage error, not a finding.
  const inputs = await Promise.all(files.map(async (file) => ({ file, bytes: await readPayloadFile(file) })));
  const { context, json: contextJson, running } = await checkContext(options, flags, deps);
  // Without --xen-version, the running hypervisor's version (on a dom0), else the default.
  const xenVersion: XenVersion = asked ?? running?.version ?? DEFAULT_XEN_VERSION;

  const { trustedKeys } = await import('../lifecycle-options.js');
  const { signatureReport } = await import('../../lifecycle/index.js');
  const trust = await trustedKeys(options);
  const payloads: CheckedPayloadJson[] = await Promise.all(
    inputs.map(async ({ file, bytes }) => {
      const name = payloadNameOf(file);
      const report = preflight(bytes, { name, xenVersion, ...(context ? { context } : {}) });
      return { ...checkedPayloadJson(file, name, bytes.length, report, out.json), signature: await signatureReport(file, bytes, trust) };
    }),
  );
  const doc: CheckJson = {
    schema: CHECK_SCHEMA,
    xenVersion: formatXenVersion(xenVersion),
    context: contextJson,
    ok: payloads.every((p) => p.ok),
    payloads,
  };
  const colors = !out.json && Boolean(out.stdout.isTTY) && !process.env.NO_COLOR;
  out.result(doc, () => checkText(doc, colors));
  // --quiet prints nothing but errors: a payload with errors still says which and why.
  if (out.quiet && !out.json) {
    for (const p of doc.payloads.filter((x) => !x.ok)) {
      const bad = p.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal');
      out.error(
        {
          code: 'PREFLIGHT',
          message: `${p.file}: ${bad.length} ${bad.length === 1 ? 'error' : 'errors'}`,
          details: bad.map((d) => `${d.severity} ${d.code}${d.errnoName ? ` (${d.errnoName})` : ''}: ${d.message}`),
        },
        EXIT.FAILED,
      );
    }
  }
  return doc.ok ? EXIT.OK : EXIT.FAILED;
}

export const handler = (args: [string[]], options: CheckOptions & CommonOptions, out: Output): Promise<ExitCode> =>
  runCheck(args[0], options, out);
