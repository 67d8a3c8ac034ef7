// The hypervisors the harness can boot: each is a Debian release's own Xen, dom0 kernel and tools.
// Debian 12 comes from the machine's own apt sources; Debian 13 from a private apt tree in the
// cache (fetch.ts), so the system's sources are never touched. For Debian 13 the whole dom0
// userland is the release's own (its node, glibc and libraries), so the packed package runs there
// as on a fresh Debian 13 dom0; Debian 12's dom0 runs the host's node, as the host is Debian 12.

/** A harness target, named by the Xen branch it boots. */
export type XenTargetId = '4.17' | '4.20';

export interface XenTarget {
  readonly id: XenTargetId;
  /** Debian release and codename the packages come from. */
  readonly debian: { readonly release: string; readonly codename: string };
  /** `host`: the machine's apt sources (they must be this release's); `private`: a private apt tree for `codename`. */
  readonly apt: 'host' | 'private';
  /** The hypervisor package and its image inside it. */
  readonly hypervisorPackage: string;
  readonly hypervisorImage: string;
  /** Where xen-utils keeps its executables, and the libxenctrl soname dom0 loads. */
  readonly utilsPackage: string;
  readonly xenBinDir: string;
  readonly libxenctrlPackage: string;
  readonly libxenctrl: string;
  /** Xen's libraries and what they need, named explicitly (the NEEDED closure must resolve in them). */
  readonly packages: readonly string[];
  /**
   * Where dom0's node and C libraries come from. `host`: the host's /usr/bin/node, with libraries
   * found in the packages first, then the host. `debian`: the release's `nodejs` with the closure
   * of its Depends (libnode, glibc, ICU, ..., the JavaScript modules Debian's node loads from
   * /usr/share/nodejs); nothing from the host.
   */
  readonly userland: 'host' | 'debian';
}

const XEN_LIBS = [
  'libxencall1',
  'libxenevtchn1',
  'libxenforeignmemory1',
  'libxengnttab1',
  'libxentoollog1',
  'libxendevicemodel1',
  'libxentoolcore1',
  'libxenstore4',
  'libxenhypfs1',
  'libyajl2',
];

export const XEN_TARGETS: Readonly<Record<XenTargetId, XenTarget>> = {
  '4.17': {
    id: '4.17',
    debian: { release: '12', codename: 'bookworm' },
    apt: 'host',
    hypervisorPackage: 'xen-hypervisor-4.17-amd64',
    hypervisorImage: 'boot/xen-4.17-amd64.gz',
    utilsPackage: 'xen-utils-4.17',
    xenBinDir: 'usr/lib/xen-4.17/bin',
    libxenctrlPackage: 'libxenmisc4.17',
    libxenctrl: 'libxenctrl.so.4.17',
    packages: ['xen-hypervisor-4.17-amd64', 'xen-utils-4.17', 'libxenmisc4.17', ...XEN_LIBS],
    userland: 'host',
  },
  '4.20': {
    id: '4.20',
    debian: { release: '13', codename: 'trixie' },
    apt: 'private',
    hypervisorPackage: 'xen-hypervisor-4.20-amd64',
    hypervisorImage: 'boot/xen-4.20-amd64.gz',
    utilsPackage: 'xen-utils-4.20',
    xenBinDir: 'usr/lib/xen-4.20/bin',
    libxenctrlPackage: 'libxenmisc4.20',
    libxenctrl: 'libxenctrl.so.4.20',
    // xl's libxenguest needs liblzma, libxenlight libuuid: on Debian 13 they come from Debian 13 too.
    packages: ['xen-hypervisor-4.20-amd64', 'xen-utils-4.20', 'libxenmisc4.20', ...XEN_LIBS, 'liblzma5', 'libuuid1'],
    userland: 'debian',
  },
};

export const DEFAULT_TARGET: XenTargetId = '4.17';

/** `--xen 4.17|4.20` of the harness's commands. */
export function xenTarget(id: string | undefined): XenTarget {
  const t = XEN_TARGETS[(id ?? DEFAULT_TARGET) as XenTargetId];
  if (!t) throw new Error(`--xen must be one of ${Object.keys(XEN_TARGETS).join(', ')}, not ${JSON.stringify(id)}`);
  return t;
}
