/** Prints the rule table of docs/preflight.md from lib/preflight/rules.ts (`npx tsx scripts/rules-table.ts`). */
import { RULE_CODES, RULES } from '../lib/preflight/index.js';

const lines = ['| code | check | group | severity | errno | what |', '|---|---|---|---|---|---|'];
for (const c of RULE_CODES) {
  const r = RULES[c];
  lines.push(`| \`${c}\` | ${r.check ?? '-'} | ${r.group} | ${r.severity} | ${r.errno ?? '-'} | ${r.title.replace(/\|/g, '\\|')} |`);
}
console.log(lines.join('\n'));
