// Guest half of the harness's serial protocol (see scripts/xen-vm/protocol.ts). Runs in dom0
// under the host's node; installed in the initramfs at /usr/lib/xlp-harness/guest.mjs.
import { createHash } from 'node:crypto';
import { readFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const MARKER = '@@XLP@@ ';
const CHUNK = 2048;

/** Writes one protocol line in a single write(2). */
export function emit(event) {
  writeSync(1, `${MARKER}${JSON.stringify(event)}\n`);
}

export const log = (msg) => emit({ type: 'log', msg: String(msg) });
export const result = (name, ok, data = {}) => emit({ type: 'result', name, ok: Boolean(ok), ...data });
export const done = (ok, data = {}) => emit({ type: 'done', ok: Boolean(ok), ...data });

/** Sends a buffer to the host in base64 chunks; the host checks every crc and the sha256. */
export function sendBlob(name, buf) {
  const chunks = Math.ceil(buf.length / CHUNK);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  emit({ type: 'blob-begin', name, size: buf.length, sha256, chunks });
  for (let seq = 0; seq < chunks; seq++) {
    const part = buf.subarray(seq * CHUNK, (seq + 1) * CHUNK);
    emit({ type: 'blob-chunk', name, seq, crc: crc32(part).toString(16), data: part.toString('base64') });
  }
  emit({ type: 'blob-end', name });
}

export const sendFile = (name, path) => sendBlob(name, readFileSync(path));
