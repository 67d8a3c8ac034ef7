/** Parity scenarios and their backend-neutral runner (see lib/parity/types.ts). */
export * from './types.js';
export { PARITY_SCENARIOS } from './scenarios.js';
export { runParityScenario, type HookLog, type ParityRunOptions } from './runner.js';
export { checkScenarioRecord, diffScenarioRecords, normaliseConsoleLine, type CheckContext } from './check.js';
export { parityIdentity, PARITY_SYMBOLS, PARITY_EXTRA_VERSION_BYTES, PARITY_MINOR_VERSION_BYTES } from './identity.js';
