import type {
  ActionOptions,
  Backend,
  ConsoleReadOptions,
  PayloadListEntry,
  PayloadName,
  UploadOptions,
} from '../backend/backend.js';
import { optionalBoolean } from '../backend/arguments.js';
import { ERRNO } from '../xen/errno.js';
import {
  LIVEPATCH_ACTION_APPLY_NODEPS,
  LIVEPATCH_ACTION_CODE,
  PAYLOAD_STATE_CODE,
  type LivepatchAction,
  type PayloadState,
  type PayloadStatus,
  type XenVersionInfo,
} from '../xen/domain.js';
import { XenError, XenUnavailableError, type XenCall, type XenUnavailableReason } from '../xen/errors.js';
import { isRawCallError, isRawOpenError, loadAddon, type LoadedAddon, type RawHandle } from './binding.js';
import { formatXenVersion, generationHasForceFlag, knownLibxenctrlGeneration, type LibxenctrlGeneration, sysctlInterfaceVersion } from '../xen/version.js';
import { nameText, needsLookup, resolveName } from './names.js';

/** The libxenctrl interface generations (the upload prototype and LIST semantics differ): the version model's. */
export type XenInterfaceGeneration = LibxenctrlGeneration;

export interface NativeOpenOptions {
  /**
   * The libxenctrl to load. Default: `$XEN_LIVEPATCH_LIBXENCTRL`, else `libxenctrl.so`, else
   * `libxenctrl.so.4.NN` from the newest to 4.14.
   */
  readonly library?: string;
  /**
   * The native binding: an addon object already loaded (what `require` of `xen_livepatch.node`
   * returns) or the path of a `.node` file. Default: `$XEN_LIVEPATCH_ADDON`, else the package's own
   * build (`build/Release/`, then `prebuilds/`).
   */
  readonly addon?: object | string;
}

export interface NativeBackendInfo {
  /** The libxenctrl file the dynamic loader mapped. */
  readonly libraryPath: string;
  /** The compiled addon that was loaded. */
  readonly addonPath: string;
  /**
   * The library's interface generation: the prototypes the addon calls. It comes from the library
   * itself (soname, symbol versions), never from the hypervisor, which may be another release.
   */
  readonly generation: XenInterfaceGeneration;
  /** What the library says it is. */
  readonly library: {
    readonly major: number;
    readonly minor: number;
    /** `libxenctrl.so.4.17`, or null if it has none. */
    readonly soname: string | null;
    /** The version node of its `xc_livepatch_upload` (`VERS_4.17.0`, `libxenctrl_4.20.0`), or null. */
    readonly symbolVersion: string | null;
    readonly generation: XenInterfaceGeneration;
  };
  /** The hypervisor's version as seen at open (`XENVER_version`), and its generation. */
  readonly xen: { readonly major: number; readonly minor: number; readonly generation: XenInterfaceGeneration };
}

const REASONS: readonly XenUnavailableReason[] = [
  'library-not-found',
  'not-xen',
  'permission-denied',
  'unsupported-version',
  'open-failed',
];

/**
 * The addon's rejections as the domain's errors; anything else (TypeError, RangeError) as is.
 * `mismatch` explains an EACCES that comes from tools and hypervisor of different sysctl interfaces.
 */
function translate(error: unknown, mismatch?: string): unknown {
  if (isRawCallError(error)) {
    const call = error.call as XenCall;
    let message = XenError.describe(call, error.errno, error.payload);
    if (error.detail) message += ` (${error.detail})`;
    if (mismatch && error.errno === ERRNO.EACCES) message += `: ${mismatch}`;
    return new XenError(call, error.errno, error.payload, message);
  }
  if (isRawOpenError(error)) {
    const reason = (REASONS as readonly string[]).includes(error.reason)
      ? (error.reason as XenUnavailableReason)
      : 'open-failed';
    return new XenUnavailableError(reason, error.message, {
      ...(error.errno === undefined ? {} : { errno: error.errno }),
      tried: error.tried,
    });
  }
  return error;
}

async function settle<T>(promise: () => Promise<T>, mismatch?: string): Promise<T> {
  try {
    return await promise();
  } catch (error) {
    throw translate(error, mismatch);
  }
}

function stateName(code: number, call: XenCall, name: PayloadName): PayloadState {
  const payload = nameText(name);
  if (code === PAYLOAD_STATE_CODE.CHECKED) return 'CHECKED';
  if (code === PAYLOAD_STATE_CODE.APPLIED) return 'APPLIED';
  throw new XenError(
    call,
    ERRNO.EBADMSG,
    payload,
    `${call} ${JSON.stringify(payload)}: the hypervisor reported payload state ${code}, which this library does not know`,
  );
}

const ACTION_CALL: Readonly<Record<LivepatchAction, XenCall>> = { APPLY: 'apply', REVERT: 'revert', UNLOAD: 'unload', REPLACE: 'replace' };

/**
 * The `Backend` over the native addon: libxenctrl's livepatch sysctls with the hypervisor's raw
 * semantics. The addon reports facts (which library, which hypervisor); what follows from them is
 * decided here: a hypervisor this build does not know is refused at open, the force flag is refused
 * unless library and hypervisor both have it, and a text name that several payloads read as is
 * refused. Calls on one instance run one at a time in call order; `close()` waits for those made.
 */
export class NativeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly info: NativeBackendInfo;
  readonly #raw: RawHandle;
  /** Why every sysctl will be refused (EACCES), when library and hypervisor disagree on the interface. */
  readonly #mismatch: string | undefined;

  private constructor(raw: RawHandle, addonPath: string, xenGeneration: XenInterfaceGeneration) {
    this.#raw = raw;
    this.info = {
      libraryPath: raw.libraryPath,
      addonPath,
      generation: raw.generation,
      library: {
        major: raw.libraryMajor,
        minor: raw.libraryMinor,
        soname: raw.librarySoname,
        symbolVersion: raw.librarySymbolVersion,
        generation: raw.generation,
      },
      xen: { major: raw.xenMajor, minor: raw.xenMinor, generation: xenGeneration },
    };
    const library = { major: raw.libraryMajor, minor: raw.libraryMinor };
    const xen = { major: raw.xenMajor, minor: raw.xenMinor };
    if (sysctlInterfaceVersion(library) !== sysctlInterfaceVersion(xen)) {
      this.#mismatch =
        `libxenctrl ${formatXenVersion(library)} (${raw.libraryPath}) and the running Xen ${formatXenVersion(xen)} speak different ` +
        'sysctl interface versions, so Xen refuses every livepatch call; use the tools that match the running ' +
        'hypervisor, or boot the hypervisor that matches the tools';
    }
  }

  /** The same facts in one sentence, for errors. */
  #pair(): string {
    const { library, xen } = this.info;
    return `libxenctrl ${library.major}.${library.minor} (${library.generation}) with Xen ${xen.major}.${xen.minor} (${xen.generation})`;
  }

  /** Opens the hypervisor interface; rejects with `XenUnavailableError` saying why it cannot. */
  static async open(options: NativeOpenOptions = {}): Promise<NativeBackend> {
    let addon: LoadedAddon;
    try {
      addon = loadAddon(options.addon);
    } catch (error) {
      const why = error instanceof Error ? error.message.trim() : String(error);
      throw new XenUnavailableError('library-not-found', `the xen-livepatch native addon could not be loaded: ${why}`);
    }
    const raw = await settle(() => addon.addon.open(options.library === undefined ? {} : { library: options.library }));
    const xen = { major: raw.xenMajor, minor: raw.xenMinor };
    const xenGeneration = knownLibxenctrlGeneration(xen);
    if (xenGeneration === null) {
      await raw.close().catch(() => undefined);
      throw new XenUnavailableError(
        'unsupported-version',
        `Xen ${formatXenVersion(xen)} (through ${raw.libraryPath}) is not supported: this build knows the livepatch interface ` +
          'of Xen 4.14 to 4.18, 4.19 to 4.20, and 4.21 onwards',
      );
    }
    return new NativeBackend(raw, addon.path, xenGeneration);
  }

  /** The force flag only when the library can pass it and the hypervisor knows it, and they agree. */
  #checkForce(name: PayloadName): void {
    const { library, xen } = this.info;
    let why: string | undefined;
    if (!generationHasForceFlag(library.generation)) {
      why = `this libxenctrl ${library.major}.${library.minor} has no force parameter (it came with 4.19)`;
    } else if (!generationHasForceFlag(xen.generation)) {
      why = `the running Xen ${xen.major}.${xen.minor} refuses any upload flag (the force flag came with Xen 4.19)`;
    }
    if (library.generation !== xen.generation) {
      why = `${why ? `${why}; ` : ''}${this.#pair()} are of different generations (tools upgraded without a reboot?), ` +
        'so the flag would be dropped or misread; use the tools that match the running hypervisor';
    }
    if (why !== undefined) {
      const text = nameText(name);
      throw new XenError('upload', ERRNO.EOPNOTSUPP, text, `upload ${JSON.stringify(text)}: the force flag is refused: ${why} (EOPNOTSUPP, errno ${ERRNO.EOPNOTSUPP})`);
    }
  }

  async xenVersion(): Promise<XenVersionInfo> {
    const v = await settle(() => this.#raw.xenVersion());
    return { major: v.major, minor: v.minor, extra: v.extra, buildId: v.buildId ? v.buildId.toString('hex') : null };
  }

  /** A payload over Xen's 2 MiB limit is refused with EINVAL, as Xen would, without being copied. */
  async upload(name: PayloadName, payload: Uint8Array, options: UploadOptions = {}): Promise<void> {
    const force = optionalBoolean(options.force, 'force');
    if (force) this.#checkForce(name);
    await settle(() => this.#raw.upload(name, payload, force), this.#mismatch);
  }

  /** `name` as text or bytes; see `resolveName` for text that several payloads read as. */
  async get(name: PayloadName): Promise<PayloadStatus> {
    // Only a lookup waits: any other call reaches the addon now, in the order it was made.
    const target = needsLookup(name) ? await resolveName(name, 'get', () => this.list()) : name;
    const s = await settle(() => this.#raw.get(target), this.#mismatch);
    return { state: stateName(s.state, 'get', name), rc: s.rc };
  }

  /** Each entry's name as text and as its exact bytes (`nameBytes`), which every call accepts back. */
  async list(): Promise<PayloadListEntry[]> {
    const entries = await settle(() => this.#raw.list(), this.#mismatch);
    return entries.map((e) => ({ name: e.name, nameBytes: e.nameBytes, state: stateName(e.state, 'list', e.name), rc: e.rc, metadata: e.metadata }));
  }

  async action(name: PayloadName, action: LivepatchAction, options: ActionOptions = {}): Promise<void> {
    if (!Object.hasOwn(LIVEPATCH_ACTION_CODE, action)) {
      throw new TypeError(`action must be one of ${Object.keys(LIVEPATCH_ACTION_CODE).join(', ')}`);
    }
    const flags = optionalBoolean(options.nodeps, 'nodeps') ? LIVEPATCH_ACTION_APPLY_NODEPS : 0;
    const target = needsLookup(name) ? await resolveName(name, ACTION_CALL[action], () => this.list()) : name;
    await settle(() => this.#raw.action(target, LIVEPATCH_ACTION_CODE[action], options.timeoutNs ?? 0, flags), this.#mismatch);
  }

  apply(name: PayloadName, options?: ActionOptions): Promise<void> {
    return this.action(name, 'APPLY', options);
  }

  revert(name: PayloadName, options?: ActionOptions): Promise<void> {
    return this.action(name, 'REVERT', options);
  }

  unload(name: PayloadName, options?: ActionOptions): Promise<void> {
    return this.action(name, 'UNLOAD', options);
  }

  replace(name: PayloadName, options?: ActionOptions): Promise<void> {
    return this.action(name, 'REPLACE', options);
  }

  /** Console text, decoded as UTF-8 (invalid bytes become U+FFFD). */
  async readConsole(options: ConsoleReadOptions = {}): Promise<string> {
    const incremental = optionalBoolean(options.incremental, 'incremental');
    const text = await settle(() => this.#raw.readConsole(incremental), this.#mismatch);
    return text.toString('utf8');
  }

  /** At most 64 keys per call. */
  async sendDebugKeys(keys: string): Promise<void> {
    await settle(() => this.#raw.sendDebugKeys(keys), this.#mismatch);
  }

  async close(): Promise<void> {
    await settle(() => this.#raw.close());
  }
}

/** Opens the hypervisor interface through the native addon. */
export function openNative(options?: NativeOpenOptions): Promise<NativeBackend> {
  return NativeBackend.open(options);
}
