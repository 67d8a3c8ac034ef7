/** The payload model: read a livepatch payload's ELF once into what every other layer needs. */
export type { AddressRef } from './addresses.js';
export { SymbolLocator, addressOf, locatorFor } from './addresses.js';
export { type BuildIdParse, parseBuildIdNote } from './build-id.js';
export { decodeFuncs, FUNC_FIELDS, FUNC_SIZE_V1, FUNC_SIZE_V2, type FuncField, funcEntrySize, symbolAndValue } from './funcs.js';
export { vetoingHookKinds } from './hooks.js';
export { KSYM_NAME_LEN, loadedPayloadInfo, truncateSymbolName } from './loaded-info.js';
export type { FuncExpectation, LivepatchFunc, Modinfo, Payload, PayloadHook, PayloadSymbol } from './model.js';
export { modinfoStrings, parseModinfo } from './modinfo.js';
export { payloadNameOf } from './file-name.js';
export { isPayloadSymbol } from './payload-symbols.js';
export { BUILD_ID_SECTIONS, buildIdOf, loadedBytes, payloadFromElf, type PayloadReadResult, readPayload, rwSectionNames } from './read-payload.js';
export { RelocatedSection, stringAt } from './relocated-fields.js';
