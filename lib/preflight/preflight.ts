import { ByteReader, readElf } from '../elf/index.js';
import { payloadFromElf } from '../payload/index.js';
import { checkAdvice } from './advice.js';
import { checkApply } from './apply.js';
import { Findings } from './findings.js';
import { runLoadSequence } from './load/sequence.js';
import { type LoadState, loadedSymbolMap, Unverified } from './load/state.js';
import { checkUpload } from './load/upload.js';
import type { Diagnostic, PreflightOptions, PreflightReport } from './types.js';
import { DEFAULT_XEN_VERSION, formatXenVersion, xenFeatures } from '../xen/version.js';

/** Stands in for the payload's name in console lines when the caller gives none. */
export const UNNAMED = '<name>';

const UPLOAD_GROUPS_EXCLUDED = new Set(['apply', 'advice']);

/**
 * Everything the hypervisor would say about uploading (and applying) these bytes, computed
 * offline: the payload model, every finding in the hypervisor's order, and the first upload
 * failure, which is what UPLOAD returns. Never throws on malformed bytes.
 */
export function preflight(bytes: Uint8Array, options: PreflightOptions = {}): PreflightReport {
  const findings = new Findings();
  const context = options.context;
  const name = options.name ?? UNNAMED;
  const version = options.xenVersion ?? DEFAULT_XEN_VERSION;
  const { elf, header } = readElf(bytes);
  const payload = elf && elf.sections.length > 0 ? payloadFromElf(elf) : null;

  if (checkUpload(findings, bytes.length, options.name, context)) {
    const state: LoadState = {
      bytes,
      reader: elf?.reader ?? new ByteReader(bytes),
      name,
      xen: { version, name: formatXenVersion(version), has: xenFeatures(version) },
      context,
      findings,
      header,
      elf,
      payload,
      symtab: null,
      symtabIndex: -1,
      strtab: null,
      layout: null,
      ignored: null,
      badSymbol: null,
      relocationsFailed: new Set(),
      unverified: { symbols: new Unverified(), funcNames: new Unverified() },
      loadedSymbols: loadedSymbolMap(context),
    };
    runLoadSequence(state);
  }
  if (payload) checkApply(findings, payload, name, context);
  checkAdvice(findings, payload, options.name);

  const diagnostics = findings.finish();
  return { payload, diagnostics, uploadError: firstUploadError(diagnostics), fatal: diagnostics.some((d) => d.severity === 'fatal') };
}

/** The first error or fatal finding of the upload itself: what UPLOAD fails with. */
export function firstUploadError(diagnostics: readonly Diagnostic[]): Diagnostic | null {
  return diagnostics.find((d) => (d.severity === 'error' || d.severity === 'fatal') && !UPLOAD_GROUPS_EXCLUDED.has(d.group)) ?? null;
}
