// A PagedListBackend over the real hypervisor for the parity suite's raw LIST scenario: the native
// backend for everything else, and each listPage() one XEN_SYSCTL_LIVEPATCH_LIST issued by the
// small C helper staged at bin/xlp-rawlist (see ../rawlist.c): libxenctrl offers no raw LIST.
import type { Backend, ListPage, ListPageRequest, PagedListBackend } from '../../../../lib/mock/index.js';
import { XenError } from '../../../../lib/mock/index.js';
import { runChild, stagePath } from './common.js';

/** XEN_SYSCTL_INTERFACE_VERSION by Xen minor version (facts §1.1). */
const SYSCTL_INTERFACE: Record<number, number> = { 17: 0x15, 18: 0x15, 19: 0x15, 20: 0x15 };

interface RawAnswer {
  rc: number;
  errno: number;
  version: number;
  nr: number;
  nameTotalSize: number;
  metadataTotalSize: number;
  entries: Array<{ state: number; rc: number; name: string; metadata: string }>;
  probeErrno?: number;
}

export function withRawList(backend: Backend, xenMinor: number): Backend & PagedListBackend {
  const iface = SYSCTL_INTERFACE[xenMinor];
  if (iface === undefined) throw new Error(`no sysctl interface version known for Xen 4.${xenMinor}`);
  const listPage = async (req: ListPageRequest): Promise<ListPage> => {
    const r = await runChild(stagePath('bin/xlp-rawlist'), [`0x${iface.toString(16)}`, String(req.idx), String(req.nr)]);
    if (r.code !== 0) throw new Error(`xlp-rawlist exited ${r.code}: ${r.stderr}`);
    const a = JSON.parse(r.stdout) as RawAnswer;
    if (a.probeErrno !== undefined) throw new Error(`xlp-rawlist: the sizing probe failed with errno ${a.probeErrno}`);
    if (a.rc < 0) throw new XenError('list', a.errno);
    return {
      version: a.version,
      remaining: a.nr,
      nameTotalSize: a.nameTotalSize,
      metadataTotalSize: a.metadataTotalSize,
      entries: a.entries.map((e) => ({ name: e.name, state: e.state === 2 ? 'APPLIED' : 'CHECKED', rc: e.rc, metadata: new Uint8Array(Buffer.from(e.metadata, 'hex')) })),
    };
  };
  // Delegate every Backend method (bound to the native backend) and add listPage.
  return {
    kind: backend.kind,
    xenVersion: () => backend.xenVersion(),
    upload: (n, b, o) => backend.upload(n, b, o),
    get: (n) => backend.get(n),
    list: () => backend.list(),
    action: (n, a, o) => backend.action(n, a, o),
    readConsole: (o) => backend.readConsole(o),
    sendDebugKeys: (k) => backend.sendDebugKeys(k),
    close: () => backend.close(),
    listPage,
  };
}
