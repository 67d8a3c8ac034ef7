import { existsSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import { isXenDom0, readXenSymbolsText, XENSYMS_PATH } from '../xen/dom0.js';
import { XenUnavailableError } from '../xen/errors.js';
import { type XenVersion, xenVersionFromHypervisor } from '../xen/version.js';
import { parseNmSymbols } from './symbols.js';
import type { LoadedPayloadInfo, PreflightContext } from './types.js';

export { PRIVCMD_PATH, XENSYMS_PATH } from '../xen/dom0.js';

/**
 * What reading the running system needs, injectable so it can be tested without Xen: whether this
 * is a Xen host, a backend for `xen_version` and LIST, and the hypervisor symbol table.
 */
export interface SystemContextDeps {
  isXenHost(): boolean;
  openBackend(): Promise<Backend>;
  /** `/proc/xen/xensyms` as text, or null when it cannot be read. */
  readXenSymbols(): Promise<string | null>;
}

export interface SystemContext {
  /** The context read, or null when this is not a Xen host or the hypervisor could not be reached. */
  readonly context: PreflightContext | null;
  /** What could not be read and why, for the report. */
  readonly notes: readonly string[];
  /** The running hypervisor's version: as it reports it (`4.20.5-pre`) and as the version model reads it. */
  readonly xen?: { readonly reported: string; readonly version: XenVersion };
}

/**
 * The real system: `/proc/xen/xensyms` or `/dev/xen/privcmd` marks a dom0; the backend is the
 * native addon (lib/native, loaded only when needed and only if it is part of this build).
 */
export function defaultSystemDeps(): SystemContextDeps {
  return {
    isXenHost: () => isXenDom0() || existsSync(XENSYMS_PATH),
    openBackend: openNativeBackend,
    readXenSymbols: readXenSymbolsText,
  };
}

/**
 * The native backend, if this build has one: imported by a computed path so that this module builds
 * and runs without lib/native. Without it, the hypervisor is reported unavailable.
 */
export async function openNativeBackend(): Promise<Backend> {
  const spec = new URL('../native/index.js', import.meta.url).href;
  let mod: { openNative?: () => Promise<Backend> | Backend };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    throw new XenUnavailableError('library-not-found', `the native backend is not part of this build (${(e as Error).message})`);
  }
  if (typeof mod.openNative !== 'function') throw new XenUnavailableError('library-not-found', 'the native backend has no openNative()');
  return await mod.openNative();
}

/**
 * The context of the running hypervisor: its build-id (`xen_version`), the uploaded payloads
 * (LIST; their build-ids and symbols are not exposed by Xen, so those checks stay offline) and its
 * symbol table. Never throws: what fails becomes a note and the check falls back to offline.
 */
export async function loadSystemContext(deps: SystemContextDeps = defaultSystemDeps()): Promise<SystemContext> {
  if (!deps.isXenHost()) return { context: null, notes: [] };
  const notes: string[] = [];
  let backend: Backend;
  try {
    backend = await deps.openBackend();
  } catch (e) {
    return { context: null, notes: [`this looks like a Xen host, but the hypervisor could not be reached: ${(e as Error).message}; checking offline`] };
  }
  try {
    const version = await backend.xenVersion();
    let loaded: LoadedPayloadInfo[] | undefined;
    try {
      loaded = (await backend.list()).map((p) => ({ name: p.name, buildId: null, symbols: [] }));
    } catch (e) {
      notes.push(`the uploaded payloads could not be listed: ${(e as Error).message}`);
    }
    const text = await deps.readXenSymbols();
    let xenSymbols: PreflightContext['xenSymbols'];
    if (text === null) notes.push(`${XENSYMS_PATH} could not be read: undefined symbols are not verified`);
    else xenSymbols = parseNmSymbols(text).symbols;
    return {
      context: { xenBuildId: version.buildId, ...(loaded ? { loaded } : {}), ...(xenSymbols ? { xenSymbols } : {}) },
      notes,
      xen: { reported: `${version.major}.${version.minor}${version.extra}`, version: xenVersionFromHypervisor(version) },
    };
  } catch (e) {
    return { context: null, notes: [`the hypervisor could not be queried: ${(e as Error).message}; checking offline`] };
  } finally {
    await backend.close().catch(() => undefined);
  }
}
