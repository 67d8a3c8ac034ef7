/** The upload verdict the mock uses unless told otherwise: the project's preflight. */
import { preflight } from '../preflight/index.js';
import type { PreflightFn } from './machine.js';

export const defaultPreflight: PreflightFn = preflight;
