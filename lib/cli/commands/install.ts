import { InstalledStore, installFiles } from '../../lifecycle/index.js';
import { xenVersionFromHypervisor } from '../../xen/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { type TrustOptions, trustedKeys } from '../lifecycle-options.js';
import type { Output } from '../output.js';
import { type BackendOptions, openReader } from '../session.js';

export interface InstallCommandOptions extends BackendOptions, TrustOptions {
  readonly replace?: boolean;
  readonly dryRun?: boolean;
}

export async function install([files]: [string[]], options: InstallCommandOptions, out: Output): Promise<ExitCode> {
  const trust = await trustedKeys(options);
  const { opened, done } = await openReader(options, out);
  try {
    const version = await opened.backend.xenVersion();
    const xenSymbols = await opened.xenSymbols();
    const { preflight } = await import('../../preflight/index.js');
    const store = new InstalledStore(opened.stateDir);
    const { ensurePrivateDir } = await import('../../fs/index.js');
    if (!options.dryRun) await ensurePrivateDir(opened.stateDir);
    const results = await installFiles(
      files,
      store,
      trust,
      // The running build's symbols only judge a payload for that build.
      (bytes, name, xen) =>
        preflight(bytes, {
          name,
          xenVersion: xenVersionFromHypervisor(version),
          context: { xenBuildId: xen ?? version.buildId, ...(xenSymbols && xen === version.buildId ? { xenSymbols } : {}) },
        }),
      { replace: options.replace === true, dryRun: options.dryRun === true },
    );
    for (const r of results) for (const w of r.warnings) out.warn(`${r.name}: ${w}`);
    const changed = results.some((r) => r.outcome !== 'unchanged');
    const builds = [...new Set(results.map((r) => r.xenBuildId))];
    out.result(
      {
        xenBuildId: builds.length === 1 ? builds[0]! : null,
        ...(options.dryRun ? { dryRun: true } : {}),
        installed: results.map((r) => ({
          name: r.name,
          file: r.file,
          xenBuildId: r.xenBuildId,
          sha256: r.sha256,
          signature: r.signature,
          outcome: r.outcome,
        })),
        changed,
      },
      () =>
        results
          .map((r) => {
            const what = r.outcome === 'unchanged' ? 'already installed (unchanged)' : `${options.dryRun ? 'would be ' : ''}${r.outcome}`;
            const sig = r.signature ? `, signed by key ${r.signature.keyId.slice(0, 16)} (${r.signature.algorithm})` : '';
            return `${r.name}: ${what} for Xen build ${r.xenBuildId}${r.xenBuildId === version.buildId ? ' (running)' : ''}${sig}`;
          })
          .join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
