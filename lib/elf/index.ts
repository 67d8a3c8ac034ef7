/** The ELF reader: ELF64 little-endian, read in place over one buffer, never throwing on bad input. */
export { ByteReader, hex, readWork, saturate } from './bytes.js';
export * from './constants.js';
export { ElfFile, type ElfIssue, type ElfReadResult, readElf } from './elf-file.js';
export { EHDR_FIELDS, type EhdrField, type ElfHeader, readElfHeader } from './header.js';
export { type ElfNote, type NoteParse, readNotes } from './notes.js';
export { RELA_FIELDS, type RelaField, RelocationView } from './relocations.js';
export { SHDR_FIELDS, type SectionHeader, type ShdrField, sectionInFile } from './sections.js';
export { NAME_LIMIT, StringTable } from './strings.js';
export { SYM_FIELDS, type SymbolColumns, type SymField, SymbolTableView } from './symbols.js';
