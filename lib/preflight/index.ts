/**
 * Payload preflight: what the hypervisor would say about a payload, before it is uploaded.
 * `preflight()` is what the mock, the workflows and `xlp check` call.
 */
export { preflight, firstUploadError, UNNAMED } from './preflight.js';
export { type Rule, type RuleCode, RULE_CODES, RULES, ruleOf } from './rules.js';
// The Xen version model lives in lib/xen/version.ts; these are re-exported for preflight's callers.
export { DEFAULT_XEN_VERSION, formatXenVersion, HEAD_XEN_VERSION, parseXenVersion, xenFeatures, type XenFeatures } from '../xen/version.js';
export type {
  CheckGroup,
  Diagnostic,
  LoadedPayloadInfo,
  PreflightContext,
  PreflightOptions,
  PreflightReport,
  Severity,
  SymbolTable,
  XenVersion,
} from './types.js';
