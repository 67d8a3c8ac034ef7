/**
 * The upload verdict the mock uses unless told otherwise: the project's preflight. It is imported
 * on the first upload (`loadDefaultPreflight`, awaited by `MockHypervisor.upload`), not with the
 * mock: preflight and the ELF reader are most of the mock's load time, and most uses of a persisted
 * mock (`xlp list`, `xlp status`, actions) never upload.
 */
import type { PreflightFn } from './machine.js';

let loaded: PreflightFn | null = null;

export async function loadDefaultPreflight(): Promise<PreflightFn> {
  loaded ??= (await import('../preflight/preflight.js')).preflight;
  return loaded;
}

export const defaultPreflight: PreflightFn = (bytes, options) => {
  if (!loaded) throw new Error('the default preflight is not loaded: await loadDefaultPreflight() before an upload');
  return loaded(bytes, options);
};
