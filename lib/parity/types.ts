/**
 * Parity scenarios: Xen's in-tree livepatch tests (and the payload-less cases around them) written
 * once as data, runnable on any `Backend`. The mock suite asserts them; the real-hypervisor run
 * records the same steps on Xen and diffs the two records.
 */
import type { HookSelector, HookScript } from '../mock/hooks.js';
import type { MockIdentityInput } from '../mock/identity.js';
import type { BackendKind } from '../backend/backend.js';
import type { ErrnoCode, ErrnoName } from '../xen/errno.js';
import type { HookKind, PayloadState } from '../xen/domain.js';
import type { XenFeature } from '../xen/version.js';

/** The parity payloads (test/parity/payloads/*.c), by the in-tree payload they re-express. */
export type ParityPayloadId =
  | 'hello_world'
  | 'bye_world'
  | 'replace_world'
  | 'nop'
  | 'no_xen_buildid'
  | 'prepost_hooks'
  | 'prepost_hooks_fail'
  | 'action_hooks'
  | 'action_hooks_nofunc'
  | 'action_hooks_marker'
  | 'action_hooks_noapply'
  | 'action_hooks_norevert'
  | 'expectations'
  | 'expectations_fail';

/** Where payload bytes come from (built for the hypervisor under test). */
export interface PayloadProvider {
  bytes(id: ParityPayloadId): Promise<Uint8Array>;
  /** The payload's own build-id (for `{id:...}` placeholders). */
  buildId(id: ParityPayloadId): string | null;
}

/**
 * An argument the backend refuses itself, before any hypercall (the native addon's checks, which
 * the mock makes too): a `TypeError` or a `RangeError`.
 */
export type ArgumentErrorName = 'TypeError' | 'RangeError';

/** A hypercall's expected outcome: success, the errno it fails with, or an argument refused first. */
export type ExpectedResult = 'ok' | ErrnoName | ArgumentErrorName;

export type ExpectedStatus = { readonly state: PayloadState; readonly rc: number } | 'absent';

/** A substring or a regular expression matched against one line. */
export type ConsoleLinePattern = string | RegExp;

/**
 * A line that differs between Xen versions (lib/xen/version.ts): `with` where the hypervisor has
 * `feature`, `without` where it has not; null means there is no such line.
 */
export interface VersionedConsolePattern {
  readonly feature: XenFeature;
  readonly with: ConsoleLinePattern | null;
  readonly without: ConsoleLinePattern | null;
}

/**
 * A console expectation: a substring or a regular expression matched against one line, or one
 * that depends on the Xen version. Strings may hold `{xen}` (the hypervisor's build-id) and
 * `{id:<payload id>}` (a payload's build-id).
 */
export type ConsolePattern = ConsoleLinePattern | VersionedConsolePattern;

/** A hook call the mock must record (mock-only observable). `payload` defaults to the step's name. */
export interface ExpectedHookCall {
  readonly kind: HookKind;
  readonly payload?: string;
  readonly symbol?: string;
  /** What a vetoing/action hook returned (omit to not check). */
  readonly rc?: number;
  /** The payload rc the hook saw. */
  readonly payloadRc?: number;
}

export interface StepExpectation {
  readonly result: ExpectedResult;
  /** `{state, rc}` of the step's payload once the step (and the work it scheduled) is done. */
  readonly status?: ExpectedStatus;
  /** Status of other payloads after the step. */
  readonly statuses?: Readonly<Record<string, ExpectedStatus>>;
  /** Lines that must appear, in this order (other lines may come between), during the step. */
  readonly console?: readonly ConsolePattern[];
  /** Lines that must not appear during the step. */
  readonly consoleAbsent?: readonly ConsolePattern[];
  /** Mock only: exactly these hook calls during the step, in order. */
  readonly hooks?: readonly ExpectedHookCall[];
  /** For `list`: the entries, in order. Metadata as a string with NULs. */
  readonly list?: readonly { readonly name: string; readonly state: PayloadState; readonly rc: number; readonly metadata?: string }[];
  /** For `list-page`: fields of the page. `versionDelta` is against the previous list-page step. */
  readonly page?: { readonly entries?: number; readonly remaining?: number; readonly versionDelta?: number };
}

export type ParityStep =
  | {
      readonly op: 'upload';
      readonly name: string;
      readonly payload: ParityPayloadId | { readonly zeros: number };
      readonly expect: StepExpectation;
    }
  | {
      readonly op: 'apply' | 'revert' | 'replace' | 'unload';
      readonly name: string;
      readonly nodeps?: boolean;
      readonly timeoutNs?: number;
      /** Wait for the scheduled work to finish before checking (default true). */
      readonly wait?: boolean;
      readonly expect: StepExpectation;
    }
  | { readonly op: 'get'; readonly name: string; readonly expect: StepExpectation }
  | { readonly op: 'list'; readonly expect: StepExpectation }
  | { readonly op: 'list-page'; readonly idx: number; readonly nr: number; readonly expect: StepExpectation }
  | { readonly op: 'debug-key'; readonly key: string; readonly expect: StepExpectation }
  /** Let time pass (the mock's clock, or real time): pending work completes. */
  | { readonly op: 'idle'; readonly ms: number; readonly name?: string; readonly expect: StepExpectation };

/** What a scenario needs from the backend beyond the `Backend` interface. */
export type ParityRequirement =
  /** Mock-only: needs its timing control or hook log (no real hypervisor can stage it). */
  | 'mock'
  /** A raw paged LIST (`PagedListBackend`). */
  | 'paged-list'
  /** More than one CPU (the action timeout can only expire while waiting for another CPU). */
  | 'smp';

export interface ParityScenario {
  readonly id: string;
  readonly title: string;
  /** Which in-tree payload or facts-file case it re-expresses. */
  readonly source: string;
  readonly payloads: readonly ParityPayloadId[];
  readonly requires?: readonly ParityRequirement[];
  /** Set when a payload relies on Xen-internal layout (see test/parity/payloads/xen417_payload.h). */
  readonly needsXenInternals?: string;
  /** Mock setup: the hooks' behaviour as the C code implements it, and identity tweaks. */
  readonly mock?: {
    readonly hooks?: readonly { readonly selector: HookSelector; readonly script: HookScript }[];
    readonly identity?: MockIdentityInput;
  };
  readonly steps: readonly ParityStep[];
}

/** What happened at one step, backend-neutral (JSON-serialisable). */
export interface StepRecord {
  readonly index: number;
  readonly op: ParityStep['op'];
  readonly name?: string;
  readonly result: 'ok' | ErrnoCode | ArgumentErrorName;
  readonly message?: string;
  readonly status?: ExpectedStatus;
  readonly statuses?: Record<string, ExpectedStatus>;
  /** Console lines written during the step, as read from the ring (with the `(XEN) ` prefix). */
  readonly console: readonly string[];
  readonly hooks?: readonly { kind: HookKind; payload: string; symbol: string | null; rc: number | null; payloadRc: number }[];
  readonly list?: readonly { name: string; state: PayloadState; rc: number; metadata: string }[];
  readonly page?: { entries: number; remaining: number; version: number };
  /** GET polls until the work finished. */
  readonly polls?: number;
}

export interface ScenarioRecord {
  readonly scenario: string;
  readonly backend: BackendKind;
  readonly xenBuildId: string | null;
  readonly skipped?: string;
  readonly steps: readonly StepRecord[];
  /** What the clean-up did (revert/unload of what the scenario left), for the log. */
  readonly cleanup: readonly string[];
}
