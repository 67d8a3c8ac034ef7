import type { BackendOptions } from './session.js';

/** Options shared by the commands that act on payloads. */
export interface ActionCommandOptions extends BackendOptions {
  readonly dryRun?: boolean;
  readonly nodeps?: boolean;
  readonly quiesceTimeout?: string;
}
