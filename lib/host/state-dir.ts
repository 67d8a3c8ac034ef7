import { join } from 'node:path';
import { xdgStateHome } from '../fs/state-home.js';

/**
 * Where xlp keeps its state on this host (host lock, journal, registry of uploaded payloads):
 * /var/lib/xen-livepatch for root (the dom0 case), else $XDG_STATE_HOME/xen-livepatch. The
 * directory itself is created and checked by `ensurePrivateDir` (0700, no symlink, own uid).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/xen-livepatch';
  return join(xdgStateHome(env), 'xen-livepatch');
}
