/** `xlp`'s exit codes: stable, documented in `--help` and the README. */
export const EXIT = {
  /** Success, or nothing to do. */
  OK: 0,
  /** The operation failed (for `check`: a payload has errors). */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** No hypervisor to talk to: no Xen (no libxenctrl, not a dom0, not root), or no simulator created yet. */
  XEN_UNAVAILABLE: 3,
  /** A vetoing hook refused the action. */
  VETOED: 4,
  /** Another action is pending, the lock is held, or a wait timed out: retrying may succeed. */
  BUSY: 5,
  /** Preflight found errors in the payload; nothing was uploaded. */
  PREFLIGHT: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success, or nothing to do
  1  the operation failed (check: a payload has errors)
  2  usage error
  3  no hypervisor: Xen unavailable (no libxenctrl, not a Xen dom0, or not root), or no simulator yet (xlp mock init)
  4  vetoed by a hook
  5  busy or timed out (retryable)
  6  preflight errors (nothing was uploaded)`;
