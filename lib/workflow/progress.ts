import type { Diagnostic } from '../preflight/types.js';
import type { HookKind, LivepatchAction, PayloadStatus } from '../xen/domain.js';

/** What a workflow reports while it runs; the CLI turns these into a spinner and lines. */
export type ProgressEvent =
  | { readonly phase: 'preflight'; readonly payload: string }
  | { readonly phase: 'uploading'; readonly payload: string; readonly bytes: number }
  | { readonly phase: 'applying' | 'reverting' | 'replacing' | 'unloading'; readonly payload: string }
  | { readonly phase: 'waiting'; readonly payload: string; readonly action: LivepatchAction; readonly elapsedMs: number }
  | {
      readonly phase: 'hook';
      readonly payload: string;
      readonly hook: HookKind;
      readonly rc?: number;
      readonly vetoed: boolean;
      readonly line: string;
    }
  | { readonly phase: 'step'; readonly index: number; readonly total: number; readonly description: string }
  /**
   * An action xlp issued earlier is still pending in the hypervisor: waiting (up to `waitMs`) for
   * it to complete before `before` (Xen runs one action at a time).
   */
  | {
      readonly phase: 'settling';
      readonly payload: string;
      readonly action: 'APPLY' | 'REVERT' | 'REPLACE';
      readonly waitMs: number;
      readonly before: string;
      readonly issuedBy: number;
    }
  | {
      readonly phase: 'done';
      readonly payload: string;
      readonly action: LivepatchAction | 'UPLOAD';
      readonly outcome: Outcome;
      readonly status: PayloadStatus | null;
      /** How long the action took (actions, not uploads). */
      readonly elapsedMs?: number;
      /** UPLOAD: its size, and preflight's findings worth saying (warnings, errors uploaded anyway). */
      readonly bytes?: number;
      readonly findings?: readonly Diagnostic[];
    };

/** `nothing-to-do`: the payload was already in the wanted state; the hypervisor was not asked. */
export type Outcome = 'done' | 'nothing-to-do';

export const PHASE_OF: Readonly<Record<LivepatchAction, 'applying' | 'reverting' | 'replacing' | 'unloading'>> = {
  APPLY: 'applying',
  REVERT: 'reverting',
  REPLACE: 'replacing',
  UNLOAD: 'unloading',
};
