/**
 * This machine: whether it is a Xen host, which backend it gets, where xlp keeps its state here,
 * the running hypervisor's symbols, and the preflight context of the running hypervisor.
 */
export { hostBackendChoice, openNativeBackend, type BackendChoice } from './backend.js';
export {
  type ContextSources,
  defaultSystemDeps,
  hypervisorContext,
  type HypervisorContext,
  type KnownPayloads,
  loadedPayloads,
  loadSystemContext,
  type SystemContext,
  type SystemContextDeps,
} from './context.js';
export { PRIVCMD_PATH, readXenSymbols, XENSYMS_PATH, xenHostKind, type XenHostKind } from './dom0.js';
export { defaultStateDir } from './state-dir.js';
export { allSettled } from './all-settled.js';
