/**
 * Builds the parity payloads (test/parity/payloads/*.c) for one hypervisor: its build-id, and the
 * binary-dependent parameters documented in payloads/parity.h. The result is the payload provider
 * the parity runner takes. Used by the mock suite here and by the real-hypervisor run.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParityPayloadId, PayloadProvider } from '../../lib/parity/types.js';
import { type BuildOptions, buildPayloads, type ChainSpec } from '../../scripts/payloads/builder.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const src = (name: string) => join(HERE, 'payloads', `${name}.c`);

export interface ParityBuildParams {
  /** The hypervisor's build-id (lowercase hex). */
  readonly xenBuildId: string;
  /** -D definitions for parity.h's parameters (XLP_OLD_SIZE, XLP_MINOR_VERSION_ADDR, ...). */
  readonly defines?: Readonly<Record<string, string>>;
}

export function paritySpecs(params: ParityBuildParams): ChainSpec[] {
  const x = params.xenBuildId;
  const d = (tag: string) => ({ ...params.defines, XLP_TAG: `_${tag}` });
  const one = (id: ParityPayloadId, file = id): ChainSpec => ({ name: id, sources: [src(file)], xenDepends: x, defines: d(id) });
  return [
    one('hello_world'),
    { ...one('bye_world'), depends: { on: 'hello_world' } },
    one('replace_world'),
    one('nop'),
    // Xen's xen_no_xen_buildid: xen_nop without .livepatch.xen_depends (but with .livepatch.depends).
    { name: 'no_xen_buildid', sources: [src('nop')], xenDepends: null, depends: x, defines: d('no_xen_buildid') },
    one('prepost_hooks'),
    one('prepost_hooks_fail'),
    one('action_hooks'),
    one('action_hooks_nofunc'),
    one('action_hooks_marker'),
    one('action_hooks_noapply'),
    one('action_hooks_norevert'),
    one('expectations'),
    one('expectations_fail'),
  ];
}

/** Builds every parity payload and returns a provider of their bytes. */
export async function buildParityPayloads(params: ParityBuildParams, options: BuildOptions = {}): Promise<PayloadProvider> {
  const built = await buildPayloads(paritySpecs(params), options);
  const bytes = new Map<string, Uint8Array>();
  for (const [name, b] of built) bytes.set(name, new Uint8Array(await readFile(b.path)));
  return {
    async bytes(id) {
      const b = bytes.get(id);
      if (!b) throw new Error(`no parity payload ${id}`);
      return b;
    },
    buildId(id) {
      return built.get(id)?.buildId ?? null;
    },
  };
}
