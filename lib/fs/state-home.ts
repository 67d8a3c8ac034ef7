import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_STATE_HOME` when it is absolute (as the XDG spec requires), else `~/.local/state`. */
export function xdgStateHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return xdg?.startsWith('/') ? xdg : join(env.HOME || homedir(), '.local', 'state');
}
