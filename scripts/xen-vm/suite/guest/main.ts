// Entry point of the guest suite in dom0: `node /opt/xlp/suite/main.mjs [section,...] [filter]`.
// Everything it imports from the project comes from the installed package in /opt/xlp/node_modules.
import { sendBlob } from '../../guest/guest.mjs';
import { openNative } from '../../../../lib/native/index.js';
import { runBench } from './bench.js';
import { runCli } from './cli.js';
import { check, counts, emit, log, plan, readXensyms } from './common.js';
import { runCross } from './cross.js';
import { runNative } from './native.js';
import { runParity } from './parity.js';
import { runPreflightCases } from './preflight.js';

const sections = (process.argv[2] ? process.argv[2].split(',') : plan.sections).filter(Boolean);
const filter = process.argv[3] ? new RegExp(process.argv[3]) : undefined;

const backend = await openNative();
const version = await backend.xenVersion();
const xensyms = readXensyms();
let ready = false;
await check('hypervisor identity', async (problems) => {
  if (`${version.major}.${version.minor}` !== plan.target.id)
    problems.push(`running Xen ${version.major}.${version.minor}${version.extra}, the suite was prepared for Xen ${plan.target.id}`);
  if (version.buildId !== plan.xen.buildId)
    problems.push(`running build-id ${version.buildId}, the payloads were built for ${plan.xen.buildId}`);
  if (xensyms.get('xen_extra_version')?.toString(16) !== BigInt(`0x${plan.xen.extraVersion.addr}`).toString(16))
    problems.push('xensyms differs from the one the payloads were built from');
  const left = await backend.list();
  if (left.length) problems.push(`payloads already loaded: ${left.map((e) => e.name).join(', ')}`);
  ready = problems.length === 0;
  return {
    version,
    addon: backend.info,
    xensyms: xensyms.size,
    node: process.version,
    nodeExecPath: process.execPath,
    debian: plan.target.debian,
  };
});

if (ready) {
  for (const section of sections) {
    emit({ type: 'step', name: `section ${section}` });
    log(`section ${section}`);
    switch (section) {
      case 'parity': {
        const { records } = await runParity(backend, version, xensyms, filter ? (id) => filter.test(id) : undefined);
        sendBlob('parity-records.json', Buffer.from(JSON.stringify(records)));
        break;
      }
      case 'preflight': {
        const results = await runPreflightCases(backend, version, xensyms, filter ? (c) => filter.test(c.id) : undefined);
        sendBlob('preflight-results.json', Buffer.from(JSON.stringify(results)));
        break;
      }
      case 'cli':
        await runCli(backend, version.extra);
        break;
      case 'native':
        await runNative(backend, version);
        break;
      case 'cross':
        await runCross(backend, version, xensyms, filter ? (id) => filter.test(id) : undefined);
        break;
      case 'bench': {
        const results = await runBench(backend);
        sendBlob('bench-results.json', Buffer.from(JSON.stringify(results)));
        break;
      }
      default:
        await check(`section ${section}`, async (problems) => void problems.push('no such section'));
    }
  }
}
await backend.close();
const c = counts();
emit({ type: 'done', ok: c.failed === 0, ...c });
