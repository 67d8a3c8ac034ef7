import { InstalledStore } from '../../lifecycle/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type BackendOptions, openReader } from '../session.js';
import { table } from '../table.js';

/** `xlp list --installed`: every build's installed patches, in stack order, the running build marked. */
export async function listInstalled(options: BackendOptions, out: Output): Promise<ExitCode> {
  const { opened, done } = await openReader(options, out);
  try {
    const running = (await opened.backend.xenVersion()).buildId;
    const builds = await new InstalledStore(opened.stateDir).list();
    const json = builds.map((b) => ({
      xenBuildId: b.xenBuildId,
      running: b.xenBuildId === running,
      patches: b.patches.map((p) => ({
        name: p.name,
        buildId: p.buildId,
        depends: p.depends,
        sha256: p.sha256,
        installedAt: p.installedAt,
        signature: p.signature?.keyId ? { keyId: p.signature.keyId, algorithm: p.signature.algorithm } : null,
      })),
    }));
    out.result({ builds: json }, () =>
      builds.length === 0
        ? 'no patches installed'
        : json
            .map(
              (b) =>
                `Xen build ${b.xenBuildId}${b.running ? ' (running)' : ''}:\n` +
                table(
                  ['#', 'NAME', 'BUILD-ID', 'SIGNED BY', 'INSTALLED'],
                  b.patches.map((p, i) => [
                    String(i + 1),
                    p.name,
                    p.buildId ?? '-',
                    p.signature ? p.signature.keyId.slice(0, 16) : '-',
                    p.installedAt,
                  ]),
                ),
            )
            .join('\n\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
