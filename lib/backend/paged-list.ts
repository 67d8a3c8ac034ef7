/**
 * One raw `XEN_SYSCTL_LIVEPATCH_LIST` call, for callers (and tests) that page through the list
 * themselves as libxenctrl does. `Backend.list()` already returns a consistent whole list; this is
 * the lower level, with Xen's own limits: `nr > 1024` is E2BIG, `idx` past the end is EINVAL, and
 * from Xen 4.21 a page whose names or metadata exceed the caller's buffers is ENOBUFS.
 */
import type { Backend, PayloadListEntry } from './backend.js';

export interface ListPageRequest {
  /** First entry to return (`list.idx`). */
  readonly idx: number;
  /** Entries wanted (`list.nr`); 0 asks only for the counts and total sizes. */
  readonly nr: number;
  /** Size of the caller's name buffer (Xen 4.21+ enforces it; older versions trust the caller). */
  readonly nameBufferSize?: number;
  /** Size of the caller's metadata buffer (as above). */
  readonly metadataBufferSize?: number;
  /**
   * The `XEN_SYSCTL_INTERFACE_VERSION` the caller was built with (0x15 up to 4.20, 0x16 from 4.21):
   * Xen answers any other with EACCES. Absent: the hypervisor's own.
   */
  readonly interfaceVersion?: number;
}

export interface ListPage {
  /** `payload_version`: changes on every upload and unload, never on apply or revert. */
  readonly version: number;
  readonly entries: PayloadListEntry[];
  /** OUT `nr`: payloads after the last one visited (for a probe, the payload count). */
  readonly remaining: number;
  /** Bytes of the names returned, NULs included (for a probe: of all names). */
  readonly nameTotalSize: number;
  /** Bytes of the metadata returned (for a probe: of all metadata). */
  readonly metadataTotalSize: number;
}

export interface PagedListBackend {
  listPage(request: ListPageRequest): Promise<ListPage>;
}

export function hasPagedList(backend: Backend): backend is Backend & PagedListBackend {
  return typeof (backend as Partial<PagedListBackend>).listPage === 'function';
}
