/**
 * Builds the demo payloads in examples/payloads from their C sources. The results are committed,
 * so `npm run demo` needs no compiler; rerun this after changing a source. By default they are
 * built for the mock's default hypervisor build-id; `--xen-build-id HEX --out DIR` builds the same
 * payloads for a real hypervisor.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MOCK_BUILD_ID } from '../lib/mock/identity.js';
import { buildPayloads } from './payloads/builder.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'examples', 'payloads');

const { values } = parseArgs({ options: { 'xen-build-id': { type: 'string' }, out: { type: 'string' } } });
const xen = values['xen-build-id'] ?? DEFAULT_MOCK_BUILD_ID;
const out = values.out ?? src;

const built = await buildPayloads([
  { name: 'hello', sources: [join(src, 'hello.c')], xenDepends: xen },
  { name: 'guarded', sources: [join(src, 'guarded.c')], xenDepends: xen, depends: { on: 'hello' } },
  { name: 'cumulative', sources: [join(src, 'cumulative.c')], xenDepends: xen },
]);
await mkdir(out, { recursive: true });
for (const p of built.values()) {
  await copyFile(p.path, join(out, `${p.name}.livepatch`));
  console.log(`${p.name}.livepatch  build-id ${p.buildId}`);
}
