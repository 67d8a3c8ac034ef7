// The real hypervisor as the parity suite drives it: the native backend, plus
//   - listPage(): one raw XEN_SYSCTL_LIVEPATCH_LIST issued by the small C helper staged at
//     bin/xlp-rawlist (see ../rawlist.c), since libxenctrl offers no raw LIST;
//   - a generous quiesce timeout for actions that do not set one (TCG_QUIESCE_NS): Xen's default,
//     30 ms, is now and then missed under TCG when the host deschedules a vCPU thread, which would
//     make the run flaky (status rc -EBUSY). Nothing Xen prints depends on the value; a scenario
//     that sets its own timeout (the timeout scenario's 1 ns) keeps it.
import type { Backend, ListPage, ListPageRequest, PagedListBackend } from '../../../../lib/mock/index.js';
import { XenError } from '../../../../lib/mock/index.js';
import { type XenVersionInfo, xenVersionFromHypervisor } from '../../../../lib/index.js';
import { sysctlInterfaceVersion } from '../../../../lib/xen/index.js';
import { runChild, stagePath } from './common.js';

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

/** 1 s: far beyond any rendezvous under TCG, well inside the u32 ns Xen takes. */
export const TCG_QUIESCE_NS = 1_000_000_000;

export function realParityBackend(backend: Backend, version: XenVersionInfo): Backend & PagedListBackend {
  // The XEN_SYSCTL_INTERFACE_VERSION the running hypervisor speaks, from the version model.
  const iface = sysctlInterfaceVersion(xenVersionFromHypervisor(version))!;
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
    action: (n, a, o) => backend.action(n, a, { ...o, timeoutNs: o?.timeoutNs ?? TCG_QUIESCE_NS }),
    readConsole: (o) => backend.readConsole(o),
    sendDebugKeys: (k) => backend.sendDebugKeys(k),
    close: () => backend.close(),
    listPage,
  };
}
