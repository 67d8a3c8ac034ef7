import { parseXenVersion, type XenVersion, XenVersionError } from '../xen/index.js';
import { UsageError } from './usage-error.js';

/** `--xen-version` of every command: the version model's one grammar; anything else is a usage error (exit 2). */
export function parseXenVersionOption(text: string): XenVersion {
  try {
    return parseXenVersion(text);
  } catch (e) {
    if (e instanceof XenVersionError) throw new UsageError(`--xen-version: ${e.message}`);
    throw e;
  }
}
