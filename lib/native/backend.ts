import type {
  ActionOptions,
  Backend,
  ConsoleReadOptions,
  PayloadListEntry,
  UploadOptions,
} from '../backend/backend.js';
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
import { isRawCallError, isRawOpenError, loadAddon, type LoadedAddon, type RawGeneration, type RawHandle } from './binding.js';

/** The libxenctrl ABI generation in use (the upload prototype and LIST semantics differ). */
export type XenInterfaceGeneration = RawGeneration;

export interface NativeOpenOptions {
  /**
   * The libxenctrl to load. Default: `$XEN_LIVEPATCH_LIBXENCTRL`, else `libxenctrl.so`, else
   * `libxenctrl.so.4.NN` from the newest to 4.14.
   */
  readonly library?: string;
}

export interface NativeBackendInfo {
  /** The libxenctrl file the dynamic loader mapped. */
  readonly libraryPath: string;
  /** The compiled addon that was loaded. */
  readonly addonPath: string;
  readonly generation: XenInterfaceGeneration;
  /** The hypervisor's version as seen at open (`XENVER_version`). */
  readonly xen: { readonly major: number; readonly minor: number };
}

const REASONS: readonly XenUnavailableReason[] = [
  'library-not-found',
  'not-xen',
  'permission-denied',
  'unsupported-version',
  'open-failed',
];

/** The addon's rejections as the domain's errors; anything else (TypeError, RangeError) as is. */
function translate(error: unknown): unknown {
  if (isRawCallError(error)) {
    const call = error.call as XenCall;
    const base = XenError.describe(call, error.errno, error.payload);
    return new XenError(call, error.errno, error.payload, error.detail ? `${base} (${error.detail})` : base);
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

async function settle<T>(promise: () => Promise<T>): Promise<T> {
  try {
    return await promise();
  } catch (error) {
    throw translate(error);
  }
}

function stateName(code: number, call: XenCall, payload: string): PayloadState {
  if (code === PAYLOAD_STATE_CODE.CHECKED) return 'CHECKED';
  if (code === PAYLOAD_STATE_CODE.APPLIED) return 'APPLIED';
  throw new XenError(
    call,
    ERRNO.EBADMSG,
    payload,
    `${call} ${JSON.stringify(payload)}: the hypervisor reported payload state ${code}, which this library does not know`,
  );
}

function optionalBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean`);
  return value;
}

/**
 * The `Backend` over the native addon: libxenctrl's livepatch sysctls, raw semantics, no policy.
 * Calls on one instance run one at a time in call order; `close()` waits for those already made.
 */
export class NativeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly info: NativeBackendInfo;
  readonly #raw: RawHandle;

  private constructor(raw: RawHandle, addonPath: string) {
    this.#raw = raw;
    this.info = {
      libraryPath: raw.libraryPath,
      addonPath,
      generation: raw.generation,
      xen: { major: raw.xenMajor, minor: raw.xenMinor },
    };
  }

  /** Opens the hypervisor interface; rejects with `XenUnavailableError` saying why it cannot. */
  static async open(options: NativeOpenOptions = {}): Promise<NativeBackend> {
    let addon: LoadedAddon;
    try {
      addon = loadAddon();
    } catch (error) {
      const why = error instanceof Error ? error.message.trim() : String(error);
      throw new XenUnavailableError('library-not-found', `the xen-livepatch native addon could not be loaded: ${why}`);
    }
    const raw = await settle(() => addon.addon.open(options.library === undefined ? {} : { library: options.library }));
    return new NativeBackend(raw, addon.path);
  }

  async xenVersion(): Promise<XenVersionInfo> {
    const v = await settle(() => this.#raw.xenVersion());
    return { major: v.major, minor: v.minor, extra: v.extra, buildId: v.buildId ? v.buildId.toString('hex') : null };
  }

  async upload(name: string, payload: Uint8Array, options: UploadOptions = {}): Promise<void> {
    const force = optionalBoolean(options.force, 'force');
    await settle(() => this.#raw.upload(name, payload, force));
  }

  async get(name: string): Promise<PayloadStatus> {
    const s = await settle(() => this.#raw.get(name));
    return { state: stateName(s.state, 'get', name), rc: s.rc };
  }

  async list(): Promise<PayloadListEntry[]> {
    const entries = await settle(() => this.#raw.list());
    return entries.map((e) => ({ name: e.name, state: stateName(e.state, 'list', e.name), rc: e.rc, metadata: e.metadata }));
  }

  async action(name: string, action: LivepatchAction, options: ActionOptions = {}): Promise<void> {
    if (!Object.hasOwn(LIVEPATCH_ACTION_CODE, action)) {
      throw new TypeError(`action must be one of ${Object.keys(LIVEPATCH_ACTION_CODE).join(', ')}`);
    }
    const flags = optionalBoolean(options.nodeps, 'nodeps') ? LIVEPATCH_ACTION_APPLY_NODEPS : 0;
    await settle(() => this.#raw.action(name, LIVEPATCH_ACTION_CODE[action], options.timeoutNs ?? 0, flags));
  }

  apply(name: string, options?: ActionOptions): Promise<void> {
    return this.action(name, 'APPLY', options);
  }

  revert(name: string, options?: ActionOptions): Promise<void> {
    return this.action(name, 'REVERT', options);
  }

  unload(name: string, options?: ActionOptions): Promise<void> {
    return this.action(name, 'UNLOAD', options);
  }

  replace(name: string, options?: ActionOptions): Promise<void> {
    return this.action(name, 'REPLACE', options);
  }

  /** Console text, decoded as UTF-8 (invalid bytes become U+FFFD). */
  async readConsole(options: ConsoleReadOptions = {}): Promise<string> {
    const incremental = optionalBoolean(options.incremental, 'incremental');
    const text = await settle(() => this.#raw.readConsole(incremental));
    return text.toString('utf8');
  }

  async sendDebugKeys(keys: string): Promise<void> {
    await settle(() => this.#raw.sendDebugKeys(keys));
  }

  async close(): Promise<void> {
    await settle(() => this.#raw.close());
  }
}

/** Opens the hypervisor interface through the native addon. */
export function openNative(options?: NativeOpenOptions): Promise<NativeBackend> {
  return NativeBackend.open(options);
}
