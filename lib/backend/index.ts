/** The `Backend` interface: the livepatch sysctls with the hypervisor's raw semantics, as every implementation offers them. */
export type { ActionOptions, Backend, BackendKind, ConsoleReadOptions, PayloadListEntry, PayloadName, UploadOptions } from './backend.js';
export { hasPagedList, type ListPage, type ListPageRequest, type PagedListBackend } from './paged-list.js';
export { DEBUG_KEYS_MAX } from './arguments.js';
