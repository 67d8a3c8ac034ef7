import type { Workspace } from '../workspace.js';

/** What each of the Livepatcher's operations runs with: the workspace, and the host lock around a mutating one. */
export interface OperationContext {
  readonly ws: Workspace;
  /** Runs a mutating workflow under the host lock (host-lock.ts). */
  mutate<T>(purpose: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T>;
}
