import { type ElfFile, type ElfIssue, readElf, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS } from '../elf/index.js';
import { locatorFor } from './addresses.js';
import { type BuildIdParse, parseBuildIdNote } from './build-id.js';
import { decodeFuncs, funcEntrySize } from './funcs.js';
import { decodeHooks, vetoingHookKinds } from './hooks.js';
import type { LivepatchFunc, Modinfo, Payload, PayloadHook, PayloadSymbol } from './model.js';
import { parseModinfo } from './modinfo.js';
import { definedSymbols, undefinedSymbolNames } from './payload-symbols.js';
import { RelocatedSection } from './relocated-fields.js';

export interface PayloadReadResult {
  /** The model, or null when the file is not an ELF64 little-endian object with sections. */
  readonly payload: Payload | null;
  /**
   * The ELF file it was read from (for callers that need more than the model).
   * @internal The ELF reader is not part of the public API: its shape may change.
   */
  readonly elf: ElfFile | null;
  /** What could not be read as ELF. The model does not judge the payload: preflight does. */
  readonly issues: readonly ElfIssue[];
}

/** The section names Xen reads build-ids from. */
export const BUILD_ID_SECTIONS = {
  buildId: '.note.gnu.build-id',
  depends: '.livepatch.depends',
  xenDepends: '.livepatch.xen_depends',
} as const;

/** A section's contents as the hypervisor loads them (NOBITS: zeros, capped at the file size). */
export function loadedBytes(elf: ElfFile, name: string): { bytes: Uint8Array; size: bigint } | null {
  const sec = elf.sectionByName(name);
  if (!sec) return null;
  if (sec.type === SHT_NOBITS) return { bytes: new Uint8Array(Math.min(Number(sec.size), elf.bytes.length)), size: sec.size };
  return { bytes: elf.data(sec) ?? new Uint8Array(0), size: sec.size };
}

/** One of the three build-id sections parsed Xen's way, or null when the section is absent. */
export function buildIdOf(elf: ElfFile, name: string): BuildIdParse | null {
  const loaded = loadedBytes(elf, name);
  return loaded ? parseBuildIdNote(loaded.bytes, loaded.size) : null;
}

/** Names of the loaded, writable, non-executable, non-empty sections (`move_payload`'s RW count). */
export function rwSectionNames(elf: ElfFile): string[] {
  const out: string[] = [];
  for (let i = 1; i < elf.sections.length; i++) {
    const s = elf.sections[i]!;
    if (!(s.flags & SHF_ALLOC) || s.flags & SHF_EXECINSTR || !(s.flags & SHF_WRITE) || s.size === 0n) continue;
    out.push(s.name ?? `[${i}]`);
  }
  return out;
}

/**
 * Reads the payload model from the bytes of a payload file. Never throws on malformed input: the
 * model holds whatever could be read; `preflight()` says what the hypervisor would make of it.
 */
export function readPayload(bytes: Uint8Array): PayloadReadResult {
  const { elf, issues } = readElf(bytes);
  if (!elf || elf.sections.length === 0) return { payload: null, elf, issues };
  return { payload: payloadFromElf(elf), elf, issues };
}

export function payloadFromElf(elf: ElfFile): Payload {
  const symtabIndex = elf.symbolTableIndex();
  const symtab = symtabIndex > 0 ? elf.symbols(symtabIndex) : null;
  const locator = symtab ? locatorFor(elf, symtab) : null;

  const funcsSection = elf.sectionByName('.livepatch.funcs');
  let funcs: LivepatchFunc[] = [];
  let entrySize: 72 | 104 = 104;
  if (funcsSection) {
    const data = new RelocatedSection(elf, funcsSection, locator);
    entrySize = funcEntrySize(data);
    funcs = decodeFuncs(elf, data, entrySize);
  }
  const hooks: PayloadHook[] = decodeHooks(elf, locator);
  const modinfoBytes = loadedBytes(elf, '.modinfo');
  const modinfo: Modinfo | null = modinfoBytes ? parseModinfo(modinfoBytes.bytes) : null;
  const idOf = (name: string): string | null => {
    const p = buildIdOf(elf, name);
    return p?.ok ? p.id : null;
  };
  const rwSections = rwSectionNames(elf);

  const payload = {
    size: elf.bytes.length,
    buildId: idOf(BUILD_ID_SECTIONS.buildId),
    depends: idOf(BUILD_ID_SECTIONS.depends),
    xenDepends: idOf(BUILD_ID_SECTIONS.xenDepends),
    funcEntrySize: entrySize,
    funcs,
    hooks,
    modinfo,
    safeToReapply: rwSections.length === 0 || (rwSections.length === 1 && rwSections[0] === '.livepatch.funcs'),
    rwSections,
    vetoingHooks: vetoingHookKinds(hooks),
  } as Omit<Payload, 'symbols' | 'undefinedSymbols'> as Payload;
  // A large payload has 100k+ symbols: they become objects only when someone asks for them.
  // Own enumerable getters, so JSON.stringify and spreading still see them.
  lazy(payload, 'undefinedSymbols', () => (symtab ? undefinedSymbolNames(symtab) : []));
  lazy(payload, 'symbols', (): PayloadSymbol[] => (symtab ? definedSymbols(elf, symtab, funcs) : []));
  return payload;
}

function lazy<K extends 'symbols' | 'undefinedSymbols'>(target: Payload, key: K, compute: () => Payload[K]): void {
  let value: Payload[K] | undefined;
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: false,
    get: () => (value ??= compute()),
  });
}
