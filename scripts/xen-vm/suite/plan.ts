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

/**
 * A payload built for the *other* hypervisor the suite knows (4.17's when 4.20 runs, and the
 * reverse), maybe with a second fault: what this hypervisor answers is written here from Xen's code
 * at this release (not from preflight), and `xlp check` on the dom0, the mock told this version and
 * the hypervisor itself must all say it.
 */
export interface CrossCase {
  id: string;
  title: string;
  /** The upload name; the file is `<name>.livepatch`, so `xlp check` names it the same. */
  name: string;
  file: string;
  /** The build-id in its .livepatch.xen_depends (the other hypervisor's). */
  builtFor: string;
  /** This hypervisor's answer: the errno and the console lines, `(XEN) ` included. */
  expect: { errno: number; console: string[] };
}

export interface SuitePlan {
  createdAt: string;
  /** The harness target: the Xen branch booted and the Debian release whose dom0 runs the suite. */
  target: { id: string; debian: string; userland: 'host' | 'debian' };
  xen: XenFacts;
  /** The other target's hypervisor, whose build-id the cross cases carry. */
  other: { target: string; version: string; buildId: string };
  cross: CrossCase[];
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
