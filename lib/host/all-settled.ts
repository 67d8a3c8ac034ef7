/**
 * Like `Promise.all`, but it answers only once every call has ended. A failing read must not leave
 * the others still running against the backend after the workflow has returned its error (a closed
 * handle, a lock held past `close()`).
 */
export async function allSettled<T extends readonly unknown[]>(calls: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(calls);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
