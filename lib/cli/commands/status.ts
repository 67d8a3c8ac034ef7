import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { rcText, stateText } from '../render.js';
import { type BackendOptions, openReader } from '../session.js';

export async function status([name]: [string], options: BackendOptions, out: Output): Promise<ExitCode> {
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
