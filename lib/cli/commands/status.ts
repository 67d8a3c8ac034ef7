import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { rcText, stateText } from '../render.js';
import { type BackendOptions, openLivepatcher } from '../session.js';

export async function status([name]: [string], options: BackendOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    const s = await lp.status(name);
    out.result({ name, state: s.state, rc: s.rc }, () => `${name}: ${stateText(s.state, out)}, rc ${rcText(s)}`);
    return EXIT.OK;
  } finally {
    await done();
  }
}
