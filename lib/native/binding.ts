/**
 * The one place that loads the compiled addon (`xen_livepatch.node`) and the typed description
 * of what it exports. Everything untyped about the addon stays in this file.
 *
 * The addon is found by node-gyp-build from the package root (`build/Release/`, then
 * `prebuilds/linux-x64/`), or taken from `$XEN_LIVEPATCH_ADDON` (an absolute path to a `.node`,
 * e.g. the ASan build in `build-asan/`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The ABI generations the addon knows, as it names them. */
export type RawGeneration = '4.14-4.18' | '4.19-4.20' | '4.21+';

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
  readonly name: string;
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
  readonly generation: RawGeneration;
  readonly xenMajor: number;
  readonly xenMinor: number;
  xenVersion(): Promise<RawVersion>;
  upload(name: string, payload: Uint8Array, force: boolean): Promise<void>;
  get(name: string): Promise<RawStatus>;
  list(): Promise<RawListEntry[]>;
  /** `cmd` is `LIVEPATCH_ACTION_*` (1..4); `timeoutNs` and `flags` are u32. */
  action(name: string, cmd: number, timeoutNs: number, flags: number): Promise<void>;
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
  readonly payload?: string;
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

/** Loads the addon once per process; throws the loader's error if there is none or it is broken. */
export function loadAddon(): LoadedAddon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const override = process.env[ADDON_PATH_ENV];
  let path: string;
  if (override) {
    path = override;
  } else {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    path = nodeGypBuild.resolve(PACKAGE_ROOT);
  }
  const addon: unknown = require(path);
  if (typeof addon !== 'object' || addon === null || typeof (addon as { open?: unknown }).open !== 'function') {
    throw new Error(`${path} is not the xen-livepatch addon (it exports no open())`);
  }
  loaded = { addon: addon as RawAddon, path };
  return loaded;
}
