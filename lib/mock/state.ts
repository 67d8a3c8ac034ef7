/**
 * The simulated hypervisor's whole state as plain data, so it can be kept in memory or persisted
 * (see store.ts) and acted on by whichever process holds the lock.
 */
import type { Payload } from '../payload/model.js';
import type { PayloadState } from '../xen/domain.js';
import type { ConsoleRingState } from './console-ring.js';
import type { HookCall, HookRule, HookScript } from './hooks.js';
import type { CodeLocation } from './memory.js';

/** Addresses a payload function resolved to at upload. */
export interface FuncRuntime {
  readonly oldAddr: bigint;
  readonly newAddr: bigint;
  /** Where its old code is, if the mock knows that memory. */
  readonly location: CodeLocation | null;
}

/** One uploaded payload (`struct payload`). */
export interface PayloadRecord {
  readonly name: string;
  /** SHA-256 of the uploaded bytes, hex: the payload file's name in a state directory. */
  readonly sha256: string;
  readonly payload: Payload;
  readonly funcs: readonly FuncRuntime[];
  /** Region addresses and the page count, as the `x` key prints them. */
  readonly textAddr: bigint;
  readonly rwAddr: bigint;
  readonly roAddr: bigint;
  readonly pages: number;
  /** Symbols it adds to the hypervisor's symbol table (`new_symbol`). */
  readonly newSymbols: readonly string[];
  state: PayloadState;
  rc: number;
  reverted: boolean;
  /** Per function: `fstate[i].applied`. */
  applied: boolean[];
  /** Per function: `fstate[i].patch_offset` (4 after an ENDBR64). */
  patchOffset: number[];
  /** Per function: the bytes the patch replaced, when the memory is known (`insn_buffer`). */
  saved: (Uint8Array | null)[];
}

export type WorkCommand = 'APPLY' | 'REVERT' | 'REPLACE';

/** The single `livepatch_work` slot. */
export interface PendingWork {
  readonly name: string;
  readonly cmd: WorkCommand;
  readonly timeoutNs: number;
  readonly scheduledAt: number;
  /** When the idle loop completes it (clock ms). */
  readonly dueAt: number;
}

export type MockWarningKind = 'unresolved-symbols' | 'expectation-unverifiable' | 'unsupported-debug-key';

/** Something the real hypervisor would have known and the mock could only assume. */
export interface MockWarning {
  readonly seq: number;
  readonly kind: MockWarningKind;
  readonly payload: string | null;
  readonly message: string;
}

export interface MachineState {
  /** Upload order (`payload_list`). */
  payloads: PayloadRecord[];
  /** Applied stack, bottom first (`applied_list`), by name. */
  applied: string[];
  pending: PendingWork | null;
  /** `payload_version`: starts at 1, bumped by upload and unload. */
  payloadVersion: number;
  /** Next free address for payload regions. */
  nextVa: bigint;
  /** Current bytes of the hypervisor functions whose contents the identity gives. */
  memory: Record<string, Uint8Array>;
  console: ConsoleRingState;
  /** Set when the hypervisor panicked: the reason. */
  panic: string | null;
  hookRules: HookRule<HookScript>[];
  nextRuleId: number;
  hookCalls: HookCall[];
  hookSeq: number;
  warnings: MockWarning[];
  warningSeq: number;
}

/** Hook calls and warnings kept (oldest dropped first), so a long-lived state stays small. */
export const HOOK_CALLS_KEPT = 10_000;
export const WARNINGS_KEPT = 1_000;
