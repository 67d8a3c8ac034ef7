/**
 * Who the simulated hypervisor is: the facts about a real Xen that decide what it accepts and what it
 * prints. Set a real host's build-id (and symbol table) and payloads built for that host load
 * unchanged.
 */
import type { SymbolTable } from '../xen/symbols.js';
import { type BuildIdHex, parseBuildIdHex } from '../xen/domain.js';
import { DEFAULT_XEN_VERSION, defaultExtraVersion, formatXenVersion, isSupportedXenVersion, knownXenVersionsText, parseXenVersion, type XenFeatures, xenFeatures, type XenVersion, XenVersionError, xenVersionFromHypervisor } from '../xen/version.js';
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
  version: mockXenVersion(DEFAULT_XEN_VERSION),
  symbols: null,
  memory: {},
  quiesceMs: 1,
  rendezvousNs: 20_000,
  cpus: 2,
  loglvl: 'warning',
  conringSize: DEFAULT_CONRING_SIZE,
  vmEventWaitqueueDomain: null,
};

/** The longest quiesce delay the mock takes (an hour: longer only ever comes from a typo or a damaged state). */
export const MAX_QUIESCE_MS = 3_600_000;
/** The longest rendezvous (an hour, in ns). */
export const MAX_RENDEZVOUS_NS = 3_600_000_000_000;

export function normaliseBuildId(id: string, what = 'build-id'): BuildIdHex {
  const hex = parseBuildIdHex(id);
  if (hex === null) throw new MockConfigError(`${what} must be an even number of hex digits (at most 64 bytes): ${JSON.stringify(id)}`);
  return hex;
}

/**
 * The mock's `XENVER_version`/`XENVER_extraversion` for a version of the model (lib/xen/version.ts):
 * `4.20` is 4.20's newest point release, `.4`; `4.19.0` is `.0`.
 */
export function mockXenVersion(v: XenVersion): MockXenVersion {
  return { major: v.major, minor: v.minor, extra: defaultExtraVersion(v) };
}

/** A version given as text, in the one grammar of `--xen-version` (anything else: MockConfigError). */
function versionFromText(text: string): MockXenVersion {
  try {
    return mockXenVersion(parseXenVersion(text));
  } catch (e) {
    if (e instanceof XenVersionError) throw new MockConfigError(e.message);
    throw e;
  }
}

/** Livepatch hooks, NODEPS, expectations and xen_depends exist from 4.14; the mock models 4.14 on. */
function checkSupportedVersion(v: MockXenVersion): void {
  if (!Number.isInteger(v.major) || !Number.isInteger(v.minor) || !isSupportedXenVersion(v)) {
    throw new MockConfigError(`the mock models Xen 4.14 and later, not ${v.major}.${v.minor}; known: ${knownXenVersionsText()}`);
  }
}

/** Fills in defaults and validates. */
export function resolveIdentity(input: MockIdentityInput = {}): MockIdentity {
  const given = input.version;
  let version: MockXenVersion = DEFAULT_IDENTITY.version;
  if (typeof given === 'string') version = versionFromText(given);
  else if (given !== undefined) {
    // A partial { major, minor, extra }: an absent extra version is that branch's newest point release.
    const branch = { major: given.major ?? DEFAULT_IDENTITY.version.major, minor: given.minor ?? DEFAULT_IDENTITY.version.minor };
    version = { ...branch, extra: given.extra ?? defaultExtraVersion(branch) };
  }
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

/** What the simulated hypervisor's version does differently (the version model's features). */
export function identityFeatures(version: MockXenVersion): XenFeatures {
  return xenFeatures(xenVersionFromHypervisor(version));
}

/** `4.20.4`: the version model's reading of the simulated hypervisor's version, for messages. */
export function identityVersionName(version: MockXenVersion): string {
  return formatXenVersion(xenVersionFromHypervisor(version));
}
