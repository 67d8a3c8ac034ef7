/**
 * A persisted mock hypervisor holding many payloads, as a long-lived host ends up: most of them
 * loaded and not applied, a stack of some applied, each on top of the one below it (the build-id
 * chain), optionally with payloads another tool uploaded and applied on top (xlp has no record of
 * those). Used by the cost-growth benchmark and the scale tests.
 *
 * One payload is built with gcc; the others are byte variants of it (own build-id, own symbol
 * names, and for the stack a depends note naming the payload below), since Xen refuses a second
 * payload with the same build-id or new symbols. xlp's uploads are recorded in its registry as
 * `xlp upload` records them.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../lib/backend/backend.js';
import { initMockState, openMockBackend } from '../../lib/mock/index.js';
import { readPayload } from '../../lib/payload/index.js';
import { Livepatcher } from '../../lib/workflow/livepatcher.js';
import { PayloadRegistry } from '../../lib/workflow/registry.js';
import { buildPayload } from '../payloads/builder.js';
import { payloadVariant } from '../payloads/variants.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The simulated hypervisor's build-id. */
export const FLEET_XEN = 'c0ffee000000000000000000000000000f1ee7f5';
/** What the built payload's depends note holds until a variant names the payload below it. */
const DEPENDS_PLACEHOLDER = 'de9e0d5de9e0d5de9e0d5de9e0d5de9e0d5de9e0';

export interface FleetLayout {
  /** Payloads loaded in all (xlp's and the other tool's). */
  readonly loaded: number;
  /** How many of xlp's payloads are applied, as a chain on the hypervisor (the bottom of the stack). */
  readonly applied: number;
  /** Payloads another tool uploaded and applied on top of xlp's (no registry record). */
  readonly foreignApplied?: number;
  /** Upload the other tool's payloads before xlp's (their lines lead the `x` dump) instead of last. */
  readonly foreignFirst?: boolean;
}

export interface Fleet {
  /** The mock's state directory (XLP_MOCK_STATE); xlp's own state is its `workflow` subdirectory. */
  readonly mockDir: string;
  readonly stateDir: string;
  /** The applied stack, bottom first (xlp's, then the other tool's). */
  readonly stack: readonly string[];
  /** Payloads loaded and not applied, each built on the hypervisor (a REPLACE target), upload order. */
  readonly checked: readonly string[];
  readonly foreign: readonly string[];
  /** Every payload in upload order (LIST order). */
  readonly uploadOrder: readonly string[];
  /** Build-id of every payload, by name. */
  readonly buildIds: ReadonlyMap<string, string>;
  /** The bytes of every payload, by name (to upload one again). */
  readonly bytes: ReadonlyMap<string, Uint8Array>;
}

let base: Promise<Uint8Array> | undefined;
function basePayload(): Promise<Uint8Array> {
  base ??= buildPayload({
    name: 'fleet',
    sources: [join(ROOT, 'test', 'workflow', 'payloads', 'wf.c')],
    xenDepends: FLEET_XEN,
    depends: DEPENDS_PLACEHOLDER,
    defines: { WF_VARIANT: '"fleet"' },
  }).then(async (b) => new Uint8Array(await readFile(b.path)));
  return base;
}

const pad = (i: number) => String(i).padStart(4, '0');

/** Creates the mock in `mockDir` (which must not hold one) with the layout asked for. */
export async function setUpFleet(mockDir: string, layout: FleetLayout): Promise<Fleet> {
  await initMockState(mockDir, { buildId: FLEET_XEN, quiesceMs: 0, rendezvousNs: 0 }, { durable: false });
  const mock = await openMockBackend({ stateDir: mockDir, ifMissing: 'error', durable: false });
  try {
    return { mockDir, ...(await populate(mock, join(mockDir, 'workflow'), layout)) };
  } finally {
    await mock.close();
  }
}

/**
 * Loads the layout into `backend` (a hypervisor built for `FLEET_XEN`, empty), with xlp's records
 * in `stateDir`.
 */
export async function populate(backend: Backend, stateDir: string, layout: FleetLayout): Promise<Omit<Fleet, 'mockDir'>> {
  const foreignApplied = layout.foreignApplied ?? 0;
  if (layout.applied + foreignApplied > layout.loaded) throw new RangeError('more payloads applied than loaded');
  const bytes = await basePayload();
  const registry = new PayloadRegistry(join(stateDir, 'payloads'), { durable: false });
  const lp = await Livepatcher.open({ backend, stateDir });
  const buildIds = new Map<string, string>();
  let n = 0;
  const variant = (name: string, depends: string): Uint8Array => {
    const v = payloadVariant(bytes, n++, { depends });
    buildIds.set(name, readPayload(v).payload!.buildId!);
    return v;
  };
  // Names and bytes first: each applied payload depends on the one below it.
  const stack: { name: string; bytes: Uint8Array; foreign: boolean }[] = [];
  let below = FLEET_XEN;
  for (let i = 0; i < layout.applied + foreignApplied; i++) {
    const foreign = i >= layout.applied;
    const name = foreign ? `other_${pad(i - layout.applied)}` : `stack_${pad(i)}`;
    const v = variant(name, below);
    below = buildIds.get(name)!;
    stack.push({ name, bytes: v, foreign });
  }
  const checked = Array.from({ length: layout.loaded - stack.length }, (_, i) => ({
    name: `spare_${pad(i)}`,
    bytes: variant(`spare_${pad(i)}`, FLEET_XEN),
    foreign: false,
  }));
  const foreign = stack.filter((p) => p.foreign);
  const own = [...checked, ...stack.filter((p) => !p.foreign)];
  const order = layout.foreignFirst ? [...foreign, ...own] : [...own, ...foreign];
  for (const p of order) {
    await backend.upload(p.name, p.bytes);
    // What `xlp upload` records after its upload: the facts the hypervisor cannot report.
    if (!p.foreign) await registry.record(p.name, p.bytes, readPayload(p.bytes).payload!);
  }
  for (const p of stack) {
    if (p.foreign) {
      await backend.action(p.name, 'APPLY');
      while ((await backend.get(p.name)).state !== 'APPLIED') await new Promise((r) => setTimeout(r, 1));
    } else {
      await lp.apply(p.name);
    }
  }
  return {
    stateDir,
    stack: stack.map((p) => p.name),
    checked: checked.map((p) => p.name),
    foreign: foreign.map((p) => p.name),
    uploadOrder: order.map((p) => p.name),
    buildIds,
    bytes: new Map(order.map((p) => [p.name, p.bytes])),
  };
}
