/**
 * The preflight context of the running hypervisor: what preflight needs to know about this host to
 * say what its hypervisor would answer (its version and build-id, the payloads it holds, with the
 * build-ids and symbols xlp's registry knows of them, its symbol table). The workflows (`load`,
 * `upload`, plans) and `xlp check` both build it here.
 */
import type { Backend, PayloadListEntry } from '../backend/backend.js';
import type { PreflightContext } from '../preflight/types.js';
import type { LoadedPayloadInfo } from '../xen/domain.js';
import type { SymbolTable } from '../xen/symbols.js';
import { type XenVersion, xenVersionFromHypervisor } from '../xen/version.js';
import { allSettled } from './all-settled.js';
import { readXenSymbolsText, XENSYMS_PATH, xenHostKind } from './dom0.js';
import { openNativeBackend } from './backend.js';
import { parseNmSymbols } from '../xen/symbols.js';

/** What xlp knows of the payloads it uploaded (its registry): each one's build-id and added symbols. */
export interface KnownPayloads {
  all(): Promise<readonly LoadedPayloadInfo[]>;
}

/** Where a context is read from. */
export interface ContextSources {
  readonly backend: Pick<Backend, 'xenVersion' | 'list'>;
  /** xlp's registry; without it, uploaded payloads are known by name only. */
  readonly known?: KnownPayloads;
  /** The hypervisor's symbol table, when there is one to read. */
  readonly xenSymbols?: () => Promise<SymbolTable | undefined>;
}

/** The running hypervisor as preflight sees it. */
export interface HypervisorContext {
  readonly context: PreflightContext;
  /** Its version, as the version model reads it. */
  readonly version: XenVersion;
  /** Its version as it reports itself (`4.20.5-pre`). */
  readonly reported: string;
}

/** LIST's payloads (upload order) with what the registry knows of each by name. */
export function loadedPayloads(listed: readonly Pick<PayloadListEntry, 'name'>[], known: readonly LoadedPayloadInfo[]): LoadedPayloadInfo[] {
  const byName = new Map(known.map((r) => [r.name, r]));
  return listed.map((p) => {
    const r = byName.get(p.name);
    return { name: p.name, buildId: r?.buildId ?? null, symbols: r?.symbols ?? [] };
  });
}

/**
 * Reads the context: every read is waited for, and the first that failed is thrown (a workflow
 * must not go ahead on half a context).
 */
export async function hypervisorContext(sources: ContextSources): Promise<HypervisorContext> {
  const [info, listed, known, xenSymbols] = await allSettled([
    sources.backend.xenVersion(),
    sources.backend.list(),
    sources.known ? sources.known.all() : Promise.resolve([]),
    sources.xenSymbols ? sources.xenSymbols() : Promise.resolve(undefined),
  ]);
  const version = xenVersionFromHypervisor(info);
  return {
    context: { xenBuildId: info.buildId, loaded: loadedPayloads(listed, known), ...(xenSymbols ? { xenSymbols } : {}) },
    version,
    reported: `${info.major}.${info.minor}${info.extra}`,
  };
}

/**
 * How `xlp check` reads the machine it runs on, injectable so it can be tested without Xen: whether
 * this is a Xen host, a backend for `xen_version` and LIST, and the hypervisor symbol table.
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

/** The real machine: any Xen host (see `xenHostKind`); the native backend; `/proc/xen/xensyms`. */
export function defaultSystemDeps(): SystemContextDeps {
  return {
    isXenHost: () => xenHostKind() !== 'not-xen',
    openBackend: openNativeBackend,
    readXenSymbols: readXenSymbolsText,
  };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The context of the machine `xlp check` runs on. Never throws: what fails becomes a note and the
 * check falls back to what it could read (offline, when the hypervisor cannot be reached).
 * `known` is xlp's registry, whose build-ids and symbols of uploaded payloads LIST does not show.
 */
export async function loadSystemContext(deps: SystemContextDeps = defaultSystemDeps(), known?: KnownPayloads): Promise<SystemContext> {
  if (!deps.isXenHost()) return { context: null, notes: [] };
  const notes: string[] = [];
  let backend: Backend;
  try {
    backend = await deps.openBackend();
  } catch (e) {
    return { context: null, notes: [`this looks like a Xen host, but the hypervisor could not be reached: ${message(e)}; checking offline`] };
  }
  try {
    const info = await backend.xenVersion();
    let loaded: LoadedPayloadInfo[] | undefined;
    try {
      const listed = await backend.list();
      let records: readonly LoadedPayloadInfo[] = [];
      if (known) {
        try {
          records = await known.all();
        } catch (e) {
          notes.push(`xlp's registry could not be read (${message(e)}): the build-ids and symbols of the payloads it uploaded are not checked`);
        }
      }
      loaded = loadedPayloads(listed, records);
    } catch (e) {
      notes.push(`the uploaded payloads could not be listed: ${message(e)}`);
    }
    const text = await deps.readXenSymbols();
    let xenSymbols: SymbolTable | undefined;
    if (text === null) notes.push(`${XENSYMS_PATH} could not be read: undefined symbols are not verified`);
    else xenSymbols = parseNmSymbols(text).symbols;
    return {
      context: { xenBuildId: info.buildId, ...(loaded ? { loaded } : {}), ...(xenSymbols ? { xenSymbols } : {}) },
      notes,
      xen: { reported: `${info.major}.${info.minor}${info.extra}`, version: xenVersionFromHypervisor(info) },
    };
  } catch (e) {
    return { context: null, notes: [`the hypervisor could not be queried: ${message(e)}; checking offline`] };
  } finally {
    await backend.close().catch(() => undefined);
  }
}
