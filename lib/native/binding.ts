/**
 * The one place that loads the compiled addon (`xen_livepatch.node`) and the typed description
 * of what it exports. Everything untyped about the addon stays in this file.
 *
 * The addon is found by node-gyp-build from the package root (`build/Release/`, then
 * `prebuilds/linux-x64/`), or taken from `$XEN_LIVEPATCH_ADDON` (an absolute path to a `.node`,
 * e.g. the ASan build in `build-asan/`), or injected by `openNative({ addon })`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The ABI generations the addon knows, as it names them. */
export type RawGeneration = '4.14-4.18' | '4.19-4.20' | '4.21+';

/** A payload name as the addon takes it: text (sent as UTF-8) or the exact bytes. */
export type RawName = string | Uint8Array;

export interface RawVersion {
  readonly major: number;
  readonly minor: number;
  readonly extra: string;
  readonly buildId: Buffer | null;
}

export interface RawStatus {
  /** `LIVEPATCH_STATE_*`: 1 CHECKED, 2 APPLIED. */
  readonly state: number;
  readonly rc: number;
}

export interface RawListEntry extends RawStatus {
  /** The name decoded as UTF-8 (bytes that are not UTF-8 become U+FFFD). */
  readonly name: string;
  /** The name's exact bytes, without the NUL. */
  readonly nameBytes: Buffer;
  readonly metadata: Buffer;
}

/**
 * One open `xc_interface`. Every method validates its arguments synchronously (TypeError,
 * RangeError) and otherwise returns a promise settled after the libxenctrl call ran on the libuv
 * pool; calls run one at a time in the order they were made. After `close()`, calls reject with
 * EBADF.
 */
export interface RawHandle {
  readonly libraryPath: string;
  /** The library's DT_SONAME (`libxenctrl.so.4.17`), or null. */
  readonly librarySoname: string | null;
  /** The version node of its `xc_livepatch_upload` (`VERS_4.17.0`, `libxenctrl_4.20.0`), or null. */
  readonly librarySymbolVersion: string | null;
  /** The Xen release the library belongs to, read from those. */
  readonly libraryMajor: number;
  readonly libraryMinor: number;
  /** The library's generation: the prototypes the addon calls. */
  readonly generation: RawGeneration;
  /** The hypervisor's `XENVER_version`. */
  readonly xenMajor: number;
  readonly xenMinor: number;
  xenVersion(): Promise<RawVersion>;
  /** A payload over Xen's 2 MiB limit is refused (EINVAL) without being copied. */
  upload(name: RawName, payload: Uint8Array, force: boolean): Promise<void>;
  get(name: RawName): Promise<RawStatus>;
  list(): Promise<RawListEntry[]>;
  /** `cmd` is `LIVEPATCH_ACTION_*` (1..4); `timeoutNs` and `flags` are u32. */
  action(name: RawName, cmd: number, timeoutNs: number, flags: number): Promise<void>;
  readConsole(incremental: boolean): Promise<Buffer>;
  sendDebugKeys(keys: string): Promise<void>;
  close(): Promise<void>;
}

export interface RawAddon {
  /** `library` (else `$XEN_LIVEPATCH_LIBXENCTRL`, else the soname search) is the libxenctrl to load. */
  open(options?: { library?: string }): Promise<RawHandle>;
}

/** A libxenctrl call that failed. */
export interface RawCallError extends Error {
  readonly xlp: 'call';
  readonly errno: number;
  readonly code: string;
  readonly call: string;
  /** The payload's name decoded as UTF-8, and its exact bytes. */
  readonly payload?: string;
  readonly payloadBytes?: Buffer;
  /** libxenctrl's own message logged during the call, or the addon's explanation. */
  readonly detail?: string;
}

/** `open()` could not give an interface. `reason` is a `XenUnavailableReason`. */
export interface RawOpenError extends Error {
  readonly xlp: 'open';
  readonly reason: string;
  readonly errno?: number;
  readonly code?: string;
  readonly tried: string[];
}

export function isRawCallError(e: unknown): e is RawCallError {
  return e instanceof Error && (e as Partial<RawCallError>).xlp === 'call';
}

export function isRawOpenError(e: unknown): e is RawOpenError {
  return e instanceof Error && (e as Partial<RawOpenError>).xlp === 'open';
}

export const ADDON_PATH_ENV = 'XEN_LIVEPATCH_ADDON';

/** The package root: this file is `lib/native/binding.ts` or `dist/native/binding.js`. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LoadedAddon {
  readonly addon: RawAddon;
  /** The `.node` file that was loaded. */
  readonly path: string;
}

let loaded: LoadedAddon | undefined;

/**
 * The addon to use instead of the one found by default: an addon object already loaded (what
 * `require` of a `.node` file returns), or the path of a `.node` file.
 */
export type AddonSource = object | string;

/**
 * Loads the addon: the one given, else (once per process) `$XEN_LIVEPATCH_ADDON` or the package's
 * own build. Throws the loader's error if there is none, or if what it got is not this addon.
 */
export function loadAddon(source?: AddonSource): LoadedAddon {
  if (typeof source === 'object') return checked(source, '(an addon object passed to openNative)');
  const require = createRequire(import.meta.url);
  if (typeof source === 'string') return checked(require(source) as unknown, source);
  if (loaded) return loaded;
  const override = process.env[ADDON_PATH_ENV];
  let path: string;
  if (override) {
    path = override;
  } else {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    path = nodeGypBuild.resolve(PACKAGE_ROOT);
  }
  loaded = checked(require(path) as unknown, path);
  return loaded;
}

function checked(addon: unknown, path: string): LoadedAddon {
  if (typeof addon !== 'object' || addon === null || typeof (addon as { open?: unknown }).open !== 'function') {
    throw new Error(`${path} is not the xen-livepatch addon (it exports no open())`);
  }
  return { addon: addon as RawAddon, path };
}
