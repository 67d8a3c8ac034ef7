/**
 * `xen-livepatch/mock`: a faithful simulator of Xen's livepatch hypercalls, for testing automation
 * without Xen. See docs/mock.md.
 */
export { MockHypervisor, type MockHypervisorOptions, type MockSnapshot } from './hypervisor.js';
export { openMockBackend, initMockState, defaultMockStateDir, resolveMockStateDir, type OpenMockOptions, type InitMockStateOptions } from './open.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  DEFAULT_IDENTITY,
  DEFAULT_MOCK_BUILD_ID,
  type MockIdentity,
  type MockIdentityInput,
  type MockXenVersion,
  mockXenVersion,
  resolveIdentity,
} from './identity.js';
export {
  type FstateEffect,
  type HookBehaviour,
  type HookCall,
  type HookContext,
  type HookFunction,
  type HookRule,
  type HookScript,
  type HookSelector,
  type XenHelperCall,
  parseRcSequence,
  checkHookScript,
} from './hooks.js';
export { readNmSymbols } from './symbols-file.js';
export { MockConfigError, MockPanicError, MockStateError, type MockStateProblem } from './errors.js';
export type { MockWarning, MockWarningKind, PendingWork } from './state.js';
export type { PreflightFn } from './machine.js';
export { DEFAULT_CONRING_SIZE } from './console-ring.js';
export { RELEASE_LOGLVL } from './printk.js';
export type { Backend, PayloadListEntry } from '../backend/backend.js';
export type { ListPage, ListPageRequest, PagedListBackend } from '../backend/paged-list.js';
export { hasPagedList } from '../backend/paged-list.js';
export { XenError } from '../xen/errors.js';
