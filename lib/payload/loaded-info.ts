import type { LoadedPayloadInfo } from '../xen/domain.js';
import type { Payload } from './model.js';

/**
 * What the hypervisor keeps about an uploaded payload for later uploads' checks: its name, its
 * build-id and the "new symbols" it added to the symbol table (every payload symbol that is not a
 * function's `new_addr`). The mock records this on UPLOAD and passes it back in the context.
 */
export function loadedPayloadInfo(name: string, payload: Payload): LoadedPayloadInfo {
  return {
    name,
    buildId: payload.buildId,
    symbols: payload.symbols.filter((s) => !s.replacesFunction).map((s) => truncateSymbolName(s.name)),
  };
}

/** Xen copies payload symbol names with `strlcpy(..., KSYM_NAME_LEN)`: at most 127 characters survive. */
export const KSYM_NAME_LEN = 128;
export function truncateSymbolName(name: string): string {
  return name.length >= KSYM_NAME_LEN ? name.slice(0, KSYM_NAME_LEN - 1) : name;
}
