/**
 * What bin/xlp.js runs: the entry of the bundled `xlp` (scripts/build-cli.mjs builds it into
 * dist/xlp/xlp.cjs).
 */
export { rawArguments } from './argv.js';
export { run } from './main.js';
