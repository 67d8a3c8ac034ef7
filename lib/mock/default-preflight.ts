/**
 * The upload verdict the mock uses unless told otherwise: the project's preflight. (Placeholder
 * until the preflight branch is merged: it refuses to guess.)
 */
import type { PreflightFn } from './machine.js';

export const defaultPreflight: PreflightFn = () => {
  throw new Error('preflight is not available in this build: pass `preflight` to the mock');
};
