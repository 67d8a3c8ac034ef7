/** docs/cli.md stays true: every JSON example fits its schema, every command and schema is documented. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI_SCHEMAS, type CliSchemaName, validateJson } from '../../lib/cli/json-schema.js';
import { EXIT_CODES_HELP } from '../../lib/cli/exit-codes.js';
import { assertBuilt, ROOT, xlp } from './support/xlp.js';

const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

beforeAll(() => assertBuilt());

describe('docs/cli.md', () => {
  it('has a JSON example for every schema, and each one validates', () => {
    const examples = [...doc.matchAll(/<!-- json: (\w+) -->\n```json\n([\s\S]*?)\n```/g)].map((m) => ({
      schema: m[1] as CliSchemaName,
      text: m[2]!,
    }));
    expect(new Set(examples.map((e) => e.schema))).toEqual(new Set(Object.keys(CLI_SCHEMAS)));
    for (const e of examples) expect(validateJson(CLI_SCHEMAS[e.schema], JSON.parse(e.text)), `example for ${e.schema}`).toEqual([]);
  });

  it('documents every command `xlp --help` lists, and the exit codes it prints', async () => {
    const help = (await xlp(['--help'])).out;
    const section = help.slice(help.indexOf('Commands:'), help.indexOf('Exit codes:'));
    const commands = [...section.matchAll(/^  ([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(10);
    for (const c of commands) expect(doc, c).toContain(`### \`xlp ${c}`);
    for (const line of EXIT_CODES_HELP.split('\n').slice(1)) {
      const [, code, text] = /^\s+(\d)\s+(.*)$/.exec(line)!;
      expect(doc).toContain(`| ${code} |`);
      expect(help).toContain(text);
    }
    // The README points users at it.
    expect(readme).toMatch(/## Command line[\s\S]*docs\/cli\.md/);
  });
});
