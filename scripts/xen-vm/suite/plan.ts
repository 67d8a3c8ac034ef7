// The plan the host writes to /opt/xlp/plan.json for the guest suite: what was built, where it is
// in the staging folder, and the facts read from the image. Type-only; shared by both halves.
import type { XenFacts } from './facts.js';

/** One payload file in the staging folder (paths relative to /opt/xlp). */
export interface StagedPayload {
  file: string;
  /** Its own build-id (hex), when it has one. */
  buildId: string | null;
}

/** Something uploaded before a fixture, to give the hypervisor the state a rule case describes. */
export interface FixtureSetup {
  name: string;
  file: string;
}

/** One preflight-vs-hypervisor case. */
export interface FixtureCase {
  /** Unique id, e.g. `valid:func_normal` or `rule:section-offset:section data past the end`. */
  id: string;
  kind: 'valid' | 'special' | 'rule' | 'context';
  title: string;
  /** The rule the catalogue built it for (none for valid fixtures). */
  code: string | null;
  /** The catalogue rule's severity: a `fatal` one must never be uploaded. */
  expectFatal: boolean;
  /** The name it is uploaded as (the rule cases' console lines name it `t`). */
  name: string;
  file: string;
  /** Uploaded first (and unloaded after). */
  before: FixtureSetup[];
  /** The console line the catalogue expects (`null`: none), with the name `t`. */
  console?: string | null;
  /** Why this case exists beyond the catalogue (context reproductions). */
  note?: string;
}

export interface SuitePlan {
  createdAt: string;
  xen: XenFacts;
  /** The installed package (node_modules/xen-livepatch) as `npm pack` made it. */
  pkg: { name: string; version: string; tarball: string; tarballSha256: string };
  parity: {
    payloads: Record<string, StagedPayload>;
    /** Scenarios that cannot run on the real hypervisor, with the precise reason. */
    realSkips: Record<string, string>;
  };
  fixtures: FixtureCase[];
  e2e: Record<'hello' | 'guarded' | 'cumulative' | 'veto', StagedPayload>;
  /** Distinct payload variants packed back to back, for the list larger than one LIST page. */
  bulk: { file: string; sizes: number[]; names: string[] };
  bench: { payload: StagedPayload; iterations: { call: number; process: number; action: number; cli: number } };
  /** Sections to run, in order. */
  sections: string[];
}
