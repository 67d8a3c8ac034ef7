/** Errors of the mock itself (as opposed to `XenError`, what the simulated hypervisor answers). */

/**
 * The simulated hypervisor panicked (a hook hit BUG(), an action left a payload half-applied, a
 * payload the real Xen crashes on was uploaded). Like the real machine it is gone: every call fails
 * with this error until `reboot()` (`xlp mock reboot`).
 */
export class MockPanicError extends Error {
  override readonly name = 'MockPanicError';
  readonly code = 'EMOCKPANIC';
  constructor(readonly reason: string) {
    super(`the mock hypervisor panicked: ${reason} (reboot it with \`xlp mock reboot\` or MockHypervisor.reboot())`);
  }
}

export type MockStateProblem =
  /** No state file in the directory (and creating one was not asked for). */
  | 'not-initialized'
  /** `init` on a directory that already holds a state. */
  | 'already-initialized'
  /** `init` on a directory that holds other files and no state: not ours to take over. */
  | 'not-empty'
  /** Not JSON, or JSON of the wrong shape, or a payload file missing or altered. */
  | 'corrupt'
  /** JSON without this project's magic: some other program's file. */
  | 'foreign'
  /** A state written by a newer (or older, incompatible) version of this package. */
  | 'schema-version'
  /** The directory or file is a symlink, not ours, or writable by others. */
  | 'unsafe';

/** A mock state directory that cannot be used as it is. Never "fixed" by silently starting afresh. */
export class MockStateError extends Error {
  override readonly name = 'MockStateError';
  readonly code = 'EMOCKSTATE';
  constructor(
    readonly problem: MockStateProblem,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A bad mock identity or option (e.g. a build-id that is not hex). */
export class MockConfigError extends Error {
  override readonly name = 'MockConfigError';
  readonly code = 'EMOCKCONFIG';
}
