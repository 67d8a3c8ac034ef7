/**
 * Who the simulated hypervisor is: the facts about a real Xen that decide what it accepts and what it
 * prints. Set a real host's build-id (and symbol table) and payloads built for that host load
 * unchanged.
 */
import type { SymbolTable } from '../preflight/types.js';
import type { BuildIdHex } from '../xen/domain.js';
import { DEFAULT_CONRING_SIZE } from './console-ring.js';
import { MockConfigError } from './errors.js';
import { parseLoglvl } from './printk.js';

/**
 * The default build-id: a fixed, obviously synthetic value (SHA-1 of "xen-livepatch mock
 * hypervisor"), so payloads built against it never load on a real Xen by accident.
 */
export const DEFAULT_MOCK_BUILD_ID: BuildIdHex = '10c81f752771eb7e8a6f58df93222a39cbbf93fb';

export interface MockXenVersion {
  readonly major: number;
  readonly minor: number;
  /** `XENVER_extraversion`. */
  readonly extra: string;
}

export interface MockIdentity {
  /** `XENVER_build_id`; null models a hypervisor built without one (APPLY/REPLACE: ENODATA). */
  readonly buildId: BuildIdHex | null;
  readonly version: MockXenVersion;
  /** The hypervisor's symbols (`/proc/xen/xensyms`); null: unknown, undefined symbols accepted with a warning. */
  readonly symbols: SymbolTable | null;
  /**
   * Bytes at the start of hypervisor functions, by symbol name (hex), for expectations and the
   * ENDBR64 rule. Functions not listed have unknown contents: their expectations are taken as met.
   */
  readonly memory: Readonly<Record<string, string>>;
  /** Delay before the idle loop picks up scheduled work, in ms (not bounded by the action timeout). */
  readonly quiesceMs: number;
  /** How long the other CPUs take to rendezvous, in ns; longer than the action timeout means -EBUSY. */
  readonly rendezvousNs: number;
  /** Online CPUs. With one CPU there is nobody to wait for and an action can never time out. */
  readonly cpus: number;
  /** Xen's `loglvl=` (release default `warning` drops INFO lines; the QEMU reference run uses `all`). */
  readonly loglvl: string;
  /** Console ring size in bytes (`conring_size`). */
  readonly conringSize: number;
  /** Domain with an active vm_event waitqueue: apply/revert fail the safety check (-EBUSY). Null: none. */
  readonly vmEventWaitqueueDomain: number | null;
}

export type MockIdentityInput = Partial<Omit<MockIdentity, 'version'>> & { readonly version?: Partial<MockXenVersion> | string };

export const DEFAULT_IDENTITY: MockIdentity = {
  buildId: DEFAULT_MOCK_BUILD_ID,
  version: { major: 4, minor: 17, extra: '.7' },
  symbols: null,
  memory: {},
  quiesceMs: 1,
  rendezvousNs: 20_000,
  cpus: 2,
  loglvl: 'warning',
  conringSize: DEFAULT_CONRING_SIZE,
  vmEventWaitqueueDomain: null,
};

const HEX = /^(?:[0-9a-f]{2})+$/;

/** The longest quiesce delay the mock takes (an hour: longer only ever comes from a typo or a damaged state). */
export const MAX_QUIESCE_MS = 3_600_000;
/** The longest rendezvous (an hour, in ns). */
export const MAX_RENDEZVOUS_NS = 3_600_000_000_000;

export function normaliseBuildId(id: string, what = 'build-id'): BuildIdHex {
  const hex = id.trim().toLowerCase().replace(/^0x/, '');
  if (!HEX.test(hex) || hex.length > 128) throw new MockConfigError(`${what} must be an even number of hex digits (at most 64 bytes): ${JSON.stringify(id)}`);
  return hex;
}

/** Parses `4.17`, `4.17.7` or `4.19-rc`: major.minor, the rest is the extra version. */
export function parseXenVersion(text: string): MockXenVersion {
  const m = /^(\d+)\.(\d+)(.*)$/.exec(text.trim());
  if (!m) throw new MockConfigError(`not a Xen version: ${JSON.stringify(text)} (expected e.g. 4.17)`);
  return { major: Number(m[1]), minor: Number(m[2]), extra: m[3] || (Number(m[2]) === 17 ? '.7' : '.0') };
}

/** Livepatch hooks, NODEPS, expectations and xen_depends exist from 4.14; the mock models 4.14 on. */
export function checkSupportedVersion(v: MockXenVersion): void {
  if (v.major !== 4 || v.minor < 14) throw new MockConfigError(`the mock models Xen 4.14 and later, not ${v.major}.${v.minor}`);
}

/** Fills in defaults and validates. */
export function resolveIdentity(input: MockIdentityInput = {}): MockIdentity {
  const version = typeof input.version === 'string' ? parseXenVersion(input.version) : { ...DEFAULT_IDENTITY.version, ...input.version };
  checkSupportedVersion(version);
  const id: MockIdentity = {
    ...DEFAULT_IDENTITY,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
    version,
  } as MockIdentity;
  const buildId = id.buildId === null ? null : normaliseBuildId(id.buildId);
  const memory: Record<string, string> = {};
  for (const [sym, hex] of Object.entries(id.memory)) memory[sym] = normaliseBuildId(hex, `memory of ${sym}`);
  const inRange = (v: number, max: number, what: string) => {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max)) throw new MockConfigError(`${what} must be a number from 0 to ${max}, not ${v}`);
  };
  inRange(id.quiesceMs, MAX_QUIESCE_MS, 'quiesceMs');
  inRange(id.rendezvousNs, MAX_RENDEZVOUS_NS, 'rendezvousNs');
  if (!Number.isInteger(id.cpus) || id.cpus < 1 || id.cpus > 4096) throw new MockConfigError(`cpus must be an integer from 1 to 4096, not ${id.cpus}`);
  if (!Number.isInteger(id.conringSize) || id.conringSize < 1024) throw new MockConfigError(`conringSize must be an integer of at least 1024`);
  try {
    parseLoglvl(id.loglvl);
  } catch (e) {
    throw new MockConfigError((e as Error).message);
  }
  return { ...id, buildId, memory };
}

/** Version-dependent behaviour. */
export const versionFeatures = (v: MockXenVersion) => ({
  /** `op.flags` with LIVEPATCH_FLAG_FORCE (4.19+); before, the field is `pad` and must be 0. */
  uploadForce: v.minor >= 19,
  /** LIST enforces the caller's buffer sizes with ENOBUFS (4.21+). */
  listBufferSizes: v.minor >= 21,
});
