import { InstalledStore, NotInstalledError } from '../../lifecycle/index.js';
import type { BuildIdHex } from '../../xen/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { parseBuildId } from '../parse.js';
import { type BackendOptions, openReader } from '../session.js';
import { UsageError } from '../usage-error.js';

export interface UninstallCommandOptions extends BackendOptions {
  readonly xenBuildId?: string;
  readonly withDependants?: boolean;
}

/**
 * Which build to uninstall from: --xen-build-id, else the running build if it has the patch,
 * else the only build that has it (several: a usage error listing them).
 */
async function buildOf(
  store: InstalledStore,
  name: string,
  given: string | undefined,
  running: BuildIdHex | null,
): Promise<BuildIdHex | null> {
  if (given !== undefined) return parseBuildId(given, '--xen-build-id') as BuildIdHex;
  const builds = await store.buildsWith(name);
  if (running !== null && builds.includes(running)) return running;
  if (builds.length <= 1) return builds[0] ?? null;
  throw new UsageError(
    `${JSON.stringify(name)} is installed for several Xen builds ` +
      `(${builds.join(', ')}), none of them the running one; say which with --xen-build-id`,
  );
}

export async function uninstall([name]: [string], options: UninstallCommandOptions, out: Output): Promise<ExitCode> {
  const { opened, done } = await openReader(options, out);
  try {
    const { validatePayloadName } = await import('../../workflow/index.js');
    validatePayloadName(name);
    const running = (await opened.backend.xenVersion()).buildId;
    const store = new InstalledStore(opened.stateDir);
    const xen = await buildOf(store, name, options.xenBuildId, running);
    let removed: readonly string[] = [];
    try {
      if (xen !== null) removed = (await store.uninstall(xen, name, { withDependants: options.withDependants === true })).removed;
    } catch (error) {
      // Absent is what was asked for: nothing to do (as Ansible's state: absent).
      if (!(error instanceof NotInstalledError)) throw error;
    }
    const changed = removed.length > 0;
    out.result({ name, xenBuildId: xen, changed, removed }, () =>
      changed
        ? `uninstalled ${removed.join(', ')} from Xen build ${xen}${removed.length > 1 ? ' (with the patches built on it)' : ''}; ` +
          'the applied stack is unchanged until `xlp sync`'
        : `${name} is not installed${xen ? ` for Xen build ${xen}` : ''}: nothing to do`,
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
