/**
 * Every console line xen/common/livepatch.c (RELEASE-4.17.7) prints on the paths the mock models,
 * with its log level, in one place so the wording can be checked against the hypervisor's. Lines
 * Xen prints with `dprintk` are compiled out of a release build and are deliberately absent.
 * Each function returns the text handed to `printk` (level marker included).
 */
import type { LivepatchAction } from '../xen/domain.js';
import { XENLOG } from './printk.js';

const LP = 'livepatch: ';
const { ERR, WARNING, INFO } = XENLOG;

export const msg = {
  // livepatch_action
  cantUnloadTop: (name: string, top: string) => `${ERR}${LP}${name}: can't unload. Top is ${top}\n`,
  callingPreRevert: (name: string) => `${INFO}${LP}${name}: Calling pre-revert hook function\n`,
  preRevertFailed: (name: string, rc: number) => `${ERR}${LP}${name}: pre-revert hook failed (rc=${rc}), aborting!\n`,
  cantReapply: (name: string) => `${ERR}${LP}${name}: can't revert as payload has .data. Please unload\n`,
  callingPreApply: (name: string) => `${INFO}${LP}${name}: Calling pre-apply hook function\n`,
  preApplyFailed: (name: string, rc: number) => `${ERR}${LP}${name}: pre-apply hook failed (rc=${rc}), aborting!\n`,
  replaceVetoing: (name: string) => `${ERR}${LP}${name}: REPLACE action is not supported on livepatches with vetoing hooks!\n`,

  // build_id_dep: `against` is "hypervisor" or the name of the payload on top of the stack
  buildIdDepFailed: (name: string, against: string) => `${ERR}${LP}${name}: check against ${against} build-id failed\n`,

  // livepatch_check_expectations / livepatch_verify_expectation_fn
  verifyingExpectations: (name: string) => `${INFO}${LP}${name}: Verifying enabled expectations for all functions\n`,
  expectationFailed: (func: string, expected: string, actual: string) =>
    `${ERR}${LP}${func}: expectation failed: expected:${expected}, actual:${actual}\n`,
  expectationsOfFailed: (name: string, func: string, rc: number) =>
    `${ERR}${LP}${name}: expectations of ${func} failed (rc=${rc}), aborting!\n`,

  // apply_payload / revert_payload (__func__ is the function's own name)
  safetyCheckFailed: (name: string, rc: number) => `${ERR}${LP}${name}: Safety checks failed: ${rc}\n`,
  activeWaitqueue: (domid: number) => `${ERR}${LP}d${domid} found with active waitqueue\n`,
  applying: (name: string, nfuncs: number) => `${INFO}${LP}${name}: Applying ${nfuncs} functions\n`,
  alreadyApplied: (func: string) => `${WARNING}${LP}apply_payload: ${func} has been already applied before\n`,
  reverting: (name: string) => `${INFO}${LP}${name}: Reverting\n`,
  notAppliedBefore: (func: string) => `${WARNING}${LP}revert_payload: ${func} has not been applied before\n`,
  metadataHeader: () => `${INFO}${LP}module metadata:\n`,
  metadataLine: (s: string) => `${INFO}${LP}  ${s}\n`,

  // livepatch_do_action
  callingApplyAction: (name: string) => `${INFO}${LP}${name}: Calling apply action hook function\n`,
  callingRevertAction: (name: string) => `${INFO}${LP}${name}: Calling revert action hook function\n`,
  inconsistent: (name: string, func: string) => `${ERR}${LP}${name}: Payload has a function: '${func}' with inconsistent applied state.\n`,
  systemMightBeInsecure: (name: string) =>
    `${ERR}${LP}${name}: SYSTEM MIGHT BE INSECURE: Replace action has been aborted after reverting ALL payloads!\n`,

  // livepatch_spin / check_for_livepatch_work
  timedOut: (name: string, phase: 'CPU' | 'IRQ', arrived: number, cpus: number) =>
    `${ERR}${LP}${name}: Timed out on semaphore in ${phase} quiesce phase ${arrived}/${cpus}\n`,
  callingPostRevert: (name: string, rc: number) => `${INFO}${LP}${name}: Calling post-revert hook function with rc=${rc}\n`,
  callingPostApply: (name: string, rc: number) => `${INFO}${LP}${name}: Calling post-apply hook function with rc=${rc}\n`,
  finished: (name: string, action: Exclude<LivepatchAction, 'UNLOAD'>, rc: number) =>
    `${INFO}${LP}${name} finished ${action} with rc=${rc}\n`,

  // panic() messages (the text, without the banner)
  partiallyApplied: (name: string) => `livepatch: partially applied payload '${name}'!`,
  partiallyReverted: (name: string) => `livepatch: partially reverted payload '${name}'!`,
} as const;

/** The lines `panic()` prints around its message (console.c): the machine then reboots. */
export function panicText(message: string, cpu = 0): string {
  const stars = '****************************************';
  const body = message.endsWith('\n') ? message : `${message}\n`;
  return `\n${stars}\nPanic on CPU ${cpu}:\n${body}${stars}\n\nReboot in five seconds...\n`;
}
