/**
 * The payloads the workflow and CLI tests load, built from test/workflow/payloads/wf.c (and one
 * preflight fixture) with the project's payload builder, for the tests' own hypervisor build-id.
 * Builds are cached by input hash, so every test file after the first gets them at once.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuiltPayload, buildPayloads, type ChainSpec } from '../../../scripts/payloads/builder.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WF = join(HERE, '..', 'payloads', 'wf.c');
const FIXTURES = join(HERE, '..', '..', 'fixtures', 'payloads');

/** The build-id of the simulated hypervisor the workflow payloads are built for. */
export const WF_XEN = 'c0ffee00000000000000000000000000000000f5';
/** Some other hypervisor's build-id (a payload built for it fails preflight). */
export const OTHER_XEN = 'badc0ffee00000000000000000000000000000f5';

export type WfPayload =
  /** Plain patch, depends on the hypervisor, safe to re-apply. */
  | 'base'
  /** Plain patch on top of `base`. */
  | 'second'
  /** Plain patch on top of `second`. */
  | 'third'
  /** Pre/post apply/revert hooks, on top of `base`. */
  | 'guarded'
  /** Writable data (not safe to re-apply) and a load hook, depends on the hypervisor. */
  | 'data'
  /** Vetoing hooks, on top of `data`. */
  | 'guarded_on_data'
  /** Load and unload hooks, depends on the hypervisor. */
  | 'hooked'
  /** Apply/revert action hooks, depends on the hypervisor. */
  | 'action'
  /** Plain cumulative patch for REPLACE: depends on the hypervisor. */
  | 'cumulative'
  /** Another plain cumulative patch. */
  | 'cumulative2'
  /** A cumulative patch with vetoing hooks. */
  | 'cumulative_guarded'
  /** Built for another hypervisor: a preflight error (EINVAL at upload). */
  | 'wrong_xen'
  /** An empty .modinfo: a fatal preflight finding (Xen 4.17 crashes on it). */
  | 'fatal';

const wf = (name: WfPayload, variant: Record<string, string>, depends?: ChainSpec['depends']): ChainSpec => ({
  name: `wf_${name}`,
  sources: [WF],
  xenDepends: WF_XEN,
  ...(depends === undefined ? {} : { depends }),
  defines: { WF_VARIANT: `"${name}"`, ...variant },
});

export const WF_SPECS: readonly ChainSpec[] = [
  wf('base', {}),
  wf('second', {}, { on: 'wf_base' }),
  wf('third', {}, { on: 'wf_second' }),
  wf('guarded', { WF_VETOING: '1' }, { on: 'wf_base' }),
  wf('data', { WF_DATA: '1' }),
  wf('guarded_on_data', { WF_VETOING: '1' }, { on: 'wf_data' }),
  wf('hooked', { WF_LOAD_HOOKS: '1' }),
  wf('action', { WF_ACTION_HOOKS: '1' }),
  wf('cumulative', {}),
  wf('cumulative2', {}),
  wf('cumulative_guarded', { WF_VETOING: '1' }),
  { ...wf('wrong_xen', {}), xenDepends: OTHER_XEN, depends: WF_XEN },
  { name: 'wf_fatal', sources: [join(FIXTURES, 'extra_section.c')], xenDepends: WF_XEN, defines: { EXTRA_MODINFO_EMPTY: '1' } },
];

export interface WfPayloads {
  /** The built file (its name is `wf_<id>.livepatch`). */
  path(id: WfPayload): string;
  bytes(id: WfPayload): Promise<Uint8Array>;
  buildId(id: WfPayload): string;
}

let built: Promise<WfPayloads> | undefined;

export function wfPayloads(): Promise<WfPayloads> {
  built ??= buildPayloads(WF_SPECS).then((map) => {
    const get = (id: WfPayload): BuiltPayload => {
      const b = map.get(`wf_${id}`);
      if (!b) throw new Error(`no workflow payload ${id}`);
      return b;
    };
    return {
      path: (id) => get(id).path,
      bytes: async (id) => new Uint8Array(await readFile(get(id).path)),
      buildId: (id) => get(id).buildId ?? '',
    };
  });
  return built;
}
