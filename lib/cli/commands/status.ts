import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { rcText, stateText } from '../render.js';
import { type BackendOptions, openReader } from '../session.js';
import { UsageError } from '../usage-error.js';
import type { HostStatusOptions } from './host-status.js';

export async function status([name]: [string | undefined], options: BackendOptions & HostStatusOptions, out: Output): Promise<ExitCode> {
  if (name === undefined) return (await import('./host-status.js')).hostStatus(options, out);
  if (options.format !== undefined || options.systemdDir !== undefined)
    throw new UsageError('--format and --systemd-dir apply to `xlp status` without a payload name (the host)');
  const { opened, done } = await openReader(options, out);
  try {
    const { payloadStatus } = await import('../../workflow/index.js');
    const s = await payloadStatus(opened.backend, name);
    out.result({ name, state: s.state, rc: s.rc }, () => `${name}: ${stateText(s.state, out)}, rc ${rcText(s)}`);
    return EXIT.OK;
  } finally {
    await done();
  }
}
