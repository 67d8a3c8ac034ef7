// npm run test:xen:lifecycle — a host's patches across a reboot, on the real hypervisor: two boots
// of Xen + dom0 sharing a raw disk image (virtio, /dev/vda) that holds xlp's state directory.
// Boot 1 installs two chained patches and syncs; boot 2 runs the boot sync and checks that the
// stack is back (xlp's view, LIST, and the hypervisor's own `x` dump). Both Xen versions with
// `--xen 4.17|4.20` (default 4.17).
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runInXen } from '../boot.js';
import { cacheDir, HARNESS_DIR, log } from '../common.js';
import { prepareSuite } from '../suite/prepare.js';
import { xenTarget } from '../targets.js';

interface ResultEvent {
  type: 'result';
  name: string;
  ok: boolean;
  problems?: string[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { xen: { type: 'string' }, echo: { type: 'boolean', default: false } } });
  const target = xenTarget(values.xen);
  const t0 = Date.now();
  const prepared = await prepareSuite({ target, sections: ['cli'] });
  copyFileSync(join(HARNESS_DIR, 'lifecycle', 'guest.mjs'), join(prepared.stage, 'lifecycle.mjs'));
  // A fresh disk: boot 2 must find only what boot 1 wrote.
  const disk = join(cacheDir('lifecycle'), `state-${target.id}.img`);
  writeFileSync(disk, Buffer.alloc(16 * 1024 * 1024));
  const results: ResultEvent[] = [];
  const failures: string[] = [];
  for (const phase of ['1', '2']) {
    const r = await runInXen({
      fetched: prepared.fetched,
      stagingDir: prepared.stage,
      command: ['node', '/opt/xlp/lifecycle.mjs', phase],
      modules: ['virtio_pci', 'virtio_blk'],
      drives: [disk],
      requireDone: true,
      echo: values.echo,
      xenArgs: ['bootscrub=0'],
      // Debian 13's node starts slowly under TCG (seconds per xlp call): 4.20 needs the margin.
      timeoutSec: Number(process.env.XLP_XEN_TIMEOUT) || 900,
      onEvent: (ev) => {
        if (ev.type === 'log') log(`guest: ${String(ev.msg)}`);
        if (ev.type !== 'result') return;
        const res = ev as unknown as ResultEvent;
        results.push(res);
        log(`${res.ok ? 'ok  ' : 'FAIL'} ${res.name}`);
        if (!res.ok) for (const p of res.problems ?? []) process.stderr.write(`       - ${p}\n`);
      },
    });
    log(`boot ${phase}: ${r.ok ? 'ok' : 'FAILED'} in ${r.timings.totalSec.toFixed(1)} s`);
    failures.push(...r.failures.map((f) => `boot ${phase}: ${f}`));
    if (!r.ok) break;
  }
  const failed = results.filter((x) => !x.ok).length;
  const report = {
    ok: failures.length === 0 && failed === 0,
    target: target.id,
    xen: prepared.plan.xen.buildId,
    failures,
    results,
    wholeSec: (Date.now() - t0) / 1000,
  };
  writeFileSync(join(cacheDir(), `lifecycle-report-${target.id}.json`), `${JSON.stringify(report, null, 2)}\n`);
  for (const f of failures) process.stderr.write(`failure: ${f}\n`);
  process.stdout.write(`${results.length - failed} passed, ${failed + failures.length} failed\n`);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
