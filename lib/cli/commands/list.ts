import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { modinfoStrings } from '../../payload/index.js';
import { listEntryJson, rcText, stateText } from '../render.js';
import { type BackendOptions, openReader } from '../session.js';
import { table } from '../table.js';

export async function list(_args: [], options: BackendOptions, out: Output): Promise<ExitCode> {
  const { opened, done } = await openReader(options, out);
  try {
    const payloads = await opened.backend.list();
    out.result({ payloads: payloads.map(listEntryJson) }, () =>
      payloads.length === 0
        ? 'no payloads loaded'
        : table(
            ['NAME', 'STATE', 'RC', 'METADATA'],
            payloads.map((p) => [p.name, p.state, rcText(p), modinfoStrings(p.metadata).join(';')]),
            { 1: (cell) => stateText(cell, out) },
          ),
    );
    return EXIT.OK;
  } finally {
    await done();
  }
}
