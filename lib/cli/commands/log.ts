import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type BackendOptions, openLivepatcher } from '../session.js';

export async function log([name]: [string | undefined], options: BackendOptions, out: Output): Promise<ExitCode> {
  const { lp, done } = await openLivepatcher(options, out);
  try {
    const lines = await lp.log(name);
    out.result({ lines }, () => lines.join('\n'));
    return EXIT.OK;
  } finally {
    await done();
  }
}
