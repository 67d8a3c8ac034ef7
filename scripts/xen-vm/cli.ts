// CLI of the real-hypervisor harness (`--xen 4.17|4.20` before the command picks the hypervisor,
// default 4.17):
//   tsx scripts/xen-vm/cli.ts [--xen V] fetch     download + unpack the Debian packages
//   tsx scripts/xen-vm/cli.ts [--xen V] build-id  the packaged hypervisor's build-id
//   tsx scripts/xen-vm/cli.ts [--xen V] image     image facts as JSON (path, sha256, build-id, version)
//   tsx scripts/xen-vm/cli.ts [--xen V] run [--stage DIR] [--timeout SEC] [--echo] [--events FILE] -- CMD ARGS...
import { writeFileSync } from 'node:fs';
import { fetchPackages } from './fetch.js';
import { xenImage } from './image.js';
import { runInXen } from './boot.js';
import { xenTarget } from './targets.js';

function usage(): never {
  process.stderr.write(
    'usage: cli.ts [--xen 4.17|4.20] fetch | build-id | image | run [--stage DIR] [--timeout SEC] [--echo] [--require-done] [--events FILE] -- CMD [ARGS...]\n',
  );
  process.exit(64);
}

async function main(args: string[]): Promise<number> {
  let argv = args;
  let target = xenTarget(undefined);
  if (argv[0] === '--xen') {
    target = xenTarget(argv[1]);
    argv = argv.slice(2);
  }
  const fetched = () => fetchPackages(target);
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'fetch': {
      const f = fetched();
      for (const p of Object.values(f.packages)) console.log(`${p.name} ${p.version} ${p.root}`);
      return 0;
    }
    case 'build-id':
      console.log(xenImage(fetched()).buildId);
      return 0;
    case 'image': {
      const img = xenImage(fetched());
      console.log(JSON.stringify(img, null, 2));
      return 0;
    }
    case 'run': {
      const sep = rest.indexOf('--');
      if (sep < 0 || sep === rest.length - 1) usage();
      const flags = rest.slice(0, sep);
      const command = rest.slice(sep + 1);
      let stagingDir: string | undefined;
      let timeoutSec: number | undefined;
      let eventsFile: string | undefined;
      let echo = false;
      let requireDone = false;
      for (let i = 0; i < flags.length; i++) {
        const f = flags[i];
        if (f === '--stage') stagingDir = flags[++i];
        else if (f === '--timeout') timeoutSec = Number(flags[++i]);
        else if (f === '--events') eventsFile = flags[++i];
        else if (f === '--echo') echo = true;
        else if (f === '--require-done') requireDone = true;
        else usage();
      }
      const r = await runInXen({
        fetched: fetched(),
        stagingDir,
        command,
        timeoutSec,
        echo,
        requireDone,
        onEvent: (ev) => {
          if (ev.type !== 'blob-chunk') console.log(JSON.stringify(ev));
        },
      });
      if (eventsFile) writeFileSync(eventsFile, `${JSON.stringify({ ...r, blobs: [...r.blobs.keys()] }, null, 2)}\n`);
      return r.ok ? 0 : 1;
    }
    default:
      usage();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`[xen-vm] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
