import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type BackendOptions, openLivepatcher } from '../session.js';
import { table } from '../table.js';

const CHECKED_SHOWN = 20;

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
            [...view.applied]
              .reverse()
              .map((e) => [
                e.placement === 'chain' ? String(e.position) : `${e.position}${e.placement === 'recorded' ? '*' : '?'}`,
                e.name,
                e.buildId ?? '-',
                e.dependsOn === view.xenBuildId && e.dependsOn !== null ? 'hypervisor' : (e.dependsOn ?? '-'),
                e.hooks === null ? 'unknown' : e.hooks.length ? e.hooks.join(',') : 'none',
              ]),
          ),
        );
      }
      if (view.certainty.order !== 'certain') {
        const marks = [];
        if (view.applied.some((e) => e.placement === 'recorded')) marks.push('*: in the order xlp applied them, not proven by build-ids');
        if (view.applied.some((e) => e.placement === 'unknown')) marks.push('?: place not known');
        lines.push(`order: ${view.certainty.order} (${marks.join('; ')})`);
      }
      for (const n of view.certainty.notes) lines.push(`note: ${n}`);
      const checked = view.loaded.filter((p) => p.state === 'CHECKED').map((p) => p.name);
      // A host may keep hundreds loaded: name a few, `xlp list` has them all.
      if (checked.length > CHECKED_SHOWN)
        lines.push(
          `loaded, not applied: ${checked.slice(0, CHECKED_SHOWN).join(', ')} ` +
            `and ${checked.length - CHECKED_SHOWN} more (\`xlp list\` shows them)`,
        );
      else if (checked.length) lines.push(`loaded, not applied: ${checked.join(', ')}`);
      return lines.join('\n');
    });
    return EXIT.OK;
  } finally {
    await done();
  }
}
