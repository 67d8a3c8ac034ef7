/** A bad command line: wrong arguments, unknown options, a value that cannot be right. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
