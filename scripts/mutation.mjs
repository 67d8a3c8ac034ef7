#!/usr/bin/env node
// `npm run test:mutation [-- area ...] [-- --force] [-- --concurrency 1]`: StrykerJS over each area of stryker.config.mjs
// (all by default), one after the other, then one line per area and the total:
//   "mutation <area>: <score>% (<killed> killed, <survived> survived, <no coverage> not covered, <ignored> ignored) in <time>"
// It exits non-zero when Stryker fails or when any area, or the whole, scores below THRESHOLD.
// Survivors are listed by Stryker's clear-text report above, and in .cache/stryker/<area>/mutation.html.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const THRESHOLD = 85;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.XLP_MUTATION_AREA = 'fs'; // the config needs an area to load; each run below sets its own
const { AREAS } = await import(join(root, 'stryker.config.mjs'));

// Area names are the arguments that name an area; everything else goes to Stryker, a flag's value
// too (`--concurrency 1` as well as `--concurrency=1`).
const args = process.argv.slice(2);
const isArea = (a) => AREAS.some((x) => x.name === a);
const names = [];
const flags = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (!a.startsWith('-')) names.push(a);
  else {
    flags.push(a);
    const next = args[i + 1];
    if (!a.includes('=') && next !== undefined && !next.startsWith('-') && !isArea(next)) flags.push(args[++i]);
  }
}
const unknown = names.filter((n) => !isArea(n));
if (unknown.length) {
  console.error(`unknown area ${unknown.join(', ')}; the areas are ${AREAS.map((a) => a.name).join(', ')}`);
  process.exit(2);
}
const areas = names.length ? AREAS.filter((a) => names.includes(a.name)) : AREAS;

/** Counts by status in a mutation-testing-report-schema JSON report. */
function tally(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, CompileError: 0, RuntimeError: 0 };
  for (const f of Object.values(report.files)) for (const m of f.mutants) n[m.status] = (n[m.status] ?? 0) + 1;
  return n;
}
const score = (n) => {
  const detected = n.Killed + n.Timeout;
  const valid = detected + n.Survived + n.NoCoverage;
  return valid === 0 ? 100 : (100 * detected) / valid;
};
const line = (name, n, ms) =>
  `mutation ${name}: ${score(n).toFixed(2)}% (${n.Killed + n.Timeout} killed, ${n.Survived} survived, ${n.NoCoverage} not covered, ${n.Ignored} ignored)${ms === undefined ? '' : ` in ${(ms / 60_000).toFixed(1)} min`}`;

const results = [];
let failed = false;
for (const area of areas) {
  const started = Date.now();
  const r = spawnSync(join(root, 'node_modules', '.bin', 'stryker'), ['run', 'stryker.config.mjs', ...flags], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, XLP_MUTATION_AREA: area.name },
  });
  const ms = Date.now() - started;
  if (r.status !== 0) {
    console.error(`mutation ${area.name}: StrykerJS failed (exit ${r.status ?? r.signal})`);
    failed = true;
    continue;
  }
  results.push({ name: area.name, n: tally(join(root, '.cache', 'stryker', area.name, 'mutation.json')), ms });
}

const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0 };
for (const { name, n, ms } of results) {
  console.log(line(name, n, ms));
  for (const k of Object.keys(total)) total[k] += n[k];
  if (score(n) < THRESHOLD) failed = true;
}
if (results.length > 1)
  console.log(
    line(
      'total',
      total,
      results.reduce((s, r) => s + r.ms, 0),
    ),
  );
if (results.length && score(total) < THRESHOLD) failed = true;
if (failed) console.log(`mutation score below ${THRESHOLD}% (or a run failed)`);
process.exit(failed ? 1 : 0);
