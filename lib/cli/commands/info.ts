import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type BackendOptions, openReader } from '../session.js';

export async function info(_args: [], options: BackendOptions, out: Output): Promise<ExitCode> {
  const { opened, done } = await openReader(options, out);
  try {
    const v = await opened.backend.xenVersion();
    const data = {
      backend: opened.kind,
      xen: { major: v.major, minor: v.minor, extra: v.extra, version: `${v.major}.${v.minor}${v.extra}`, buildId: v.buildId },
      stateDir: opened.stateDir,
      ...(opened.mockStateDir ? { mockState: opened.mockStateDir } : {}),
    };
    out.result(data, () =>
      [
        `backend:   ${opened.kind}${opened.mockStateDir ? ` (state ${opened.mockStateDir})` : ''}`,
        `xen:       ${data.xen.version}`,
        `build-id:  ${v.buildId ?? '(none)'}`,
        `state dir: ${opened.stateDir}`,
      ].join('\n'),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
