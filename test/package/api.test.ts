/**
 * The public API (`xen-livepatch`, lib/index.ts) is a decision: every name it exports, values and
 * types, is listed here, so adding or dropping one is a visible change of this test. Names not in
 * the list are internal (reachable by deep imports of dist/, with no promise).
 */
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENTRY = resolve(import.meta.dirname, '../../lib/index.ts');

function exportedNames(): string[] {
  const program = ts.createProgram([ENTRY], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY)!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => s.getName()).sort();
}

const PUBLIC_API = [
  'AbortedError', 'ActionFailedError', 'ActionResult', 'AmbiguousNameError', 'ApplyOptions', 'Backend', 'BackendActionOptions',
  'BackendKind', 'BackendUploadOptions', 'BuildIdHex', 'BusyError', 'CheckGroup', 'ConsoleReadOptions', 'DEFAULT_XEN_VERSION',
  'DependencyError', 'Diagnostic', 'DumpUse', 'ERRNO', 'ErrnoCode', 'ErrnoName', 'FailureCategory', 'FuncExpectation', 'HookKind',
  'HookVetoError', 'InvalidNameError', 'Journal', 'JournalAction', 'JournalCorruptError', 'JournalPendingError', 'JournalStep',
  'LivepatchAction', 'LivepatchFunc', 'Livepatcher', 'LivepatcherOptions', 'LoadOptions', 'LoadResult', 'LoadedPayload',
  'LoadedPayloadInfo', 'LockedError', 'Modinfo', 'NativeBackend', 'NativeBackendInfo', 'NativeOpenOptions', 'NotLoadedError',
  'NotReapplyableError', 'NotTopOfStackError', 'OpenMockOptions', 'OrderCertainty', 'Outcome', 'PAYLOAD_MAX_SIZE', 'Payload',
  'PayloadEvidence', 'PayloadFileError', 'PayloadHook', 'PayloadListEntry', 'PayloadName', 'PayloadReadResult', 'PayloadSource',
  'PayloadState', 'PayloadStatus', 'PayloadSymbol', 'Plan', 'PlanAction', 'PlanStep', 'PlannedHook', 'PreflightContext',
  'PreflightError', 'PreflightOptions', 'PreflightReport', 'PrivateDirError', 'PrivateDirProblem', 'ProgressEvent', 'RecoverOptions',
  'RecoverResult', 'RefusedError', 'ReplaceOffender', 'ReplaceOptions', 'ReplaceRefusedError', 'ReplaceResult', 'Severity',
  'StackCertainty', 'StackEntry', 'StackOptions', 'StackPlacement', 'StackView', 'StateFileError', 'StateFileProblem', 'StepState',
  'SymbolTable', 'TimeoutError', 'UploadFailedError', 'UploadOptions', 'UploadResult', 'VETOING_HOOK_KINDS', 'WaitOptions',
  'WorkflowError', 'WrongStateError', 'XenCall', 'XenError', 'XenInterfaceGeneration', 'XenUnavailableError', 'XenUnavailableReason',
  'XenVersion', 'XenVersionError', 'XenVersionInfo', 'errnoCode', 'errnoMessage', 'formatPlan', 'formatXenVersion', 'openMockBackend',
  'openNative', 'parseNmSymbols', 'parseXenVersion', 'preflight', 'readPayload', 'xenVersionFromHypervisor',
].sort();

describe('the public API of xen-livepatch', () => {
  it('exports exactly the names decided on, values and types', () => {
    expect(exportedNames()).toEqual(PUBLIC_API);
  });

  it('every listed value is there at run time', async () => {
    const api = (await import('../../lib/index.js')) as Record<string, unknown>;
    const values = Object.keys(api).sort();
    expect(values.length).toBeGreaterThan(30);
    expect(values.filter((v) => !PUBLIC_API.includes(v))).toEqual([]);
  });
});
