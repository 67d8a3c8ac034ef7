// CLI of the real-hypervisor harness:
//   tsx scripts/xen-vm/cli.ts fetch              download + unpack the Debian packages
//   tsx scripts/xen-vm/cli.ts build-id           the packaged hypervisor's build-id
//   tsx scripts/xen-vm/cli.ts image              image facts as JSON (path, sha256, build-id, version)
//   tsx scripts/xen-vm/cli.ts run [--stage DIR] [--timeout SEC] [--echo] [--events FILE] -- CMD ARGS...
import { writeFileSync } from 'node:fs';
import { fetchPackages } from './fetch.js';
import { xenImage } from './image.js';
import { runInXen } from './boot.js';

function usage(): never {
  process.stderr.write(
    'usage: cli.ts fetch | build-id | image | run [--stage DIR] [--timeout SEC] [--echo] [--require-done] [--events FILE] -- CMD [ARGS...]\n',
  );
  process.exit(64);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'fetch': {
      const f = fetchPackages();
      for (const p of Object.values(f.packages)) console.log(`${p.name} ${p.version} ${p.root}`);
      return 0;
    }
    case 'build-id':
      console.log(xenImage().buildId);
      return 0;
    case 'image': {
      const img = xenImage();
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
