/** `XEN_SYSCTL_LIVEPATCH_GET` and `XEN_SYSCTL_LIVEPATCH_LIST` (`livepatch_get`, `livepatch_list`). */
import type { PayloadListEntry } from '../../backend/backend.js';
import type { ListPage, ListPageRequest } from '../../backend/paged-list.js';
import { LIST_PAGE_MAX, type PayloadStatus } from '../../xen/domain.js';
import { ERRNO } from '../../xen/errno.js';
import { XenError } from '../../xen/errors.js';
import { sysctlInterfaceVersion, xenVersionFromHypervisor } from '../../xen/version.js';
import type { MockMachine } from '../machine.js';
import type { PayloadRecord } from '../state.js';

export function getStatus(m: MockMachine, name: string): PayloadStatus {
  const p = m.find(name, 'get');
  return { state: p.state, rc: p.rc };
}

function entry(p: PayloadRecord): PayloadListEntry {
  return { name: p.name, state: p.state, rc: p.rc, metadata: p.payload.modinfo?.raw ?? new Uint8Array(0) };
}

/** Every payload, as a backend that pages LIST for its caller returns them. */
export function list(m: MockMachine): PayloadListEntry[] {
  return m.state.payloads.map(entry);
}

/** One LIST sysctl. */
export function listPage(m: MockMachine, req: ListPageRequest): ListPage {
  const { idx, nr } = req;
  if (!Number.isInteger(idx) || idx < 0 || !Number.isInteger(nr) || nr < 0 || idx > 0xffff_ffff || nr > 0xffff_ffff) {
    throw new RangeError('listPage: idx and nr are u32');
  }
  // The mock's identity is always a version the model covers (4.14 on), so the table knows it.
  const iface = sysctlInterfaceVersion(xenVersionFromHypervisor(m.identity.version))!;
  if (req.interfaceVersion !== undefined && req.interfaceVersion !== iface) {
    // do_sysctl refuses tools built for another sysctl interface before looking at the op.
    throw new XenError(
      'list',
      ERRNO.EACCES,
      undefined,
      `list: sysctl interface 0x${req.interfaceVersion.toString(16)}, this hypervisor speaks 0x${iface.toString(16)} (EACCES)`,
    );
  }
  if (nr > LIST_PAGE_MAX) throw new XenError('list', ERRNO.E2BIG);
  const cnt = m.state.payloads.length;
  if (idx >= cnt && cnt) throw new XenError('list', ERRNO.EINVAL, undefined, `list: idx ${idx} is past the ${cnt} payloads (EINVAL)`);
  const nameLen = (p: PayloadRecord) => Buffer.byteLength(p.name) + 1;
  const metaLen = (p: PayloadRecord) => p.payload.modinfo?.raw.length ?? 0;
  if (nr === 0) {
    let names = 0;
    let meta = 0;
    for (const p of m.state.payloads) {
      names += nameLen(p);
      meta += metaLen(p);
    }
    return { version: m.state.payloadVersion, entries: [], remaining: cnt, nameTotalSize: names, metadataTotalSize: meta };
  }
  const enforce = m.features['list-buffer-sizes'];
  const entries: PayloadListEntry[] = [];
  let i = 0;
  let names = 0;
  let meta = 0;
  for (const p of m.state.payloads) {
    if (idx > i++) continue;
    if (enforce && (names + nameLen(p) > (req.nameBufferSize ?? 0) || meta + metaLen(p) > (req.metadataBufferSize ?? 0))) {
      throw new XenError('list', ERRNO.ENOBUFS);
    }
    entries.push(entry(p));
    names += nameLen(p);
    meta += metaLen(p);
    if (entries.length >= nr) break;
  }
  return { version: m.state.payloadVersion, entries, remaining: cnt - i, nameTotalSize: names, metadataTotalSize: meta };
}
