import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type BackendOptions, openLivepatcher } from '../session.js';
import { table } from '../table.js';

export async function stack(_args: [], options: BackendOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    const view = await lp.stack();
    out.result(view, () => {
      const lines = [`hypervisor build-id ${view.xenBuildId ?? '(none)'}`];
      if (view.applied.length === 0) lines.push('no payload applied');
      else {
        lines.push(
          table(
            ['#', 'NAME', 'BUILD-ID', 'DEPENDS-ON', 'HOOKS'],
            [...view.applied].reverse().map((e) => [
              String(e.position),
              e.name,
              e.buildId ?? '-',
              e.dependsOn === view.xenBuildId && e.dependsOn !== null ? 'hypervisor' : (e.dependsOn ?? '-'),
              e.hooks === null ? 'unknown' : e.hooks.length ? e.hooks.join(',') : 'none',
            ]),
          ),
        );
      }
      if (!view.orderCertain) lines.push('note: part of the order is inferred (payloads applied with --nodeps)');
      const checked = view.loaded.filter((p) => p.state === 'CHECKED').map((p) => p.name);
      if (checked.length) lines.push(`loaded, not applied: ${checked.join(', ')}`);
      return lines.join('\n');
    });
    return EXIT.OK;
  } finally {
    await done();
  }
}
