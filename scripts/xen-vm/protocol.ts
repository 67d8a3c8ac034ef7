// The line protocol dom0 uses to talk back over the serial console it shares with Xen.
// Every protocol line is MARKER + one JSON object + "\n". Anything else on the serial is
// Xen's or the kernel's own output (Xen's lines start with "(XEN) ").
//
// Events (the `type` field):
//   init  {uptime}                /init started (dom0 uptime, seconds)
//   ready {uptime}                modules loaded, xenfs mounted, /dev/xen/privcmd present
//   log   {msg}                   free text from the guest
//   result {name, ok, ...}        one check or scenario step; ok:false fails the run
//   blob-begin {name, size, sha256, chunks}
//   blob-chunk {name, seq, crc, data}   data: base64, crc: crc32 of the raw chunk (hex)
//   blob-end {name}               the host verifies count, crcs, size and sha256
//   done  {ok, ...}               the guest suite's verdict
//   exit  {code, uptime, stage?}  the guest command's exit status (from /init)
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const MARKER = '@@XLP@@ ';

export interface XlpEvent {
  type: string;
  [k: string]: unknown;
}

export interface Blob {
  name: string;
  data: Buffer;
  sha256: string;
}

export class ProtocolParser {
  readonly events: XlpEvent[] = [];
  readonly blobs = new Map<string, Blob>();
  readonly errors: string[] = [];
  private pending = new Map<string, { size: number; sha256: string; chunks: number; parts: Buffer[] }>();

  /** Feeds one serial line; returns the event it carried, if any. */
  feed(rawLine: string): XlpEvent | undefined {
    const at = rawLine.indexOf(MARKER);
    if (at < 0) return undefined;
    const text = rawLine.slice(at + MARKER.length).replace(/\r+$/, '');
    let ev: XlpEvent;
    try {
      ev = JSON.parse(text) as XlpEvent;
      if (typeof ev !== 'object' || ev === null || typeof ev.type !== 'string') throw new Error('no type');
    } catch (e) {
      this.errors.push(`garbled protocol line: ${text.slice(0, 120)}`);
      return undefined;
    }
    this.handleBlob(ev);
    this.events.push(ev);
    return ev;
  }

  private handleBlob(ev: XlpEvent): void {
    const name = String(ev.name);
    if (ev.type === 'blob-begin') {
      this.pending.set(name, { size: Number(ev.size), sha256: String(ev.sha256), chunks: Number(ev.chunks), parts: [] });
    } else if (ev.type === 'blob-chunk') {
      const p = this.pending.get(name);
      if (!p) return void this.errors.push(`blob ${name}: chunk without begin`);
      const buf = Buffer.from(String(ev.data), 'base64');
      const seq = Number(ev.seq);
      if (seq !== p.parts.length) this.errors.push(`blob ${name}: chunk ${seq} arrived as #${p.parts.length}`);
      if (crc32(buf).toString(16) !== String(ev.crc)) this.errors.push(`blob ${name}: chunk ${seq} crc mismatch`);
      p.parts.push(buf);
    } else if (ev.type === 'blob-end') {
      const p = this.pending.get(name);
      if (!p) return void this.errors.push(`blob ${name}: end without begin`);
      this.pending.delete(name);
      const data = Buffer.concat(p.parts);
      const digest = createHash('sha256').update(data).digest('hex');
      if (p.parts.length !== p.chunks || data.length !== p.size || digest !== p.sha256) {
        this.errors.push(
          `blob ${name}: got ${p.parts.length}/${p.chunks} chunks, ${data.length}/${p.size} bytes, sha256 ${digest === p.sha256 ? 'ok' : 'mismatch'}`,
        );
      } else this.blobs.set(name, { name, data, sha256: digest });
    }
  }

  /** Blobs begun but never ended (the guest died mid-transfer). */
  unfinishedBlobs(): string[] {
    return [...this.pending.keys()];
  }
}

const XEN_PREFIX = '(XEN) ';

function isProtocolJson(text: string): boolean {
  try {
    const ev = JSON.parse(text.replace(/\r+$/, '')) as unknown;
    return typeof ev === 'object' && ev !== null && typeof (ev as XlpEvent).type === 'string';
  } catch {
    return false;
  }
}

/**
 * Xen writes its own console lines straight to the serial port, between the pieces dom0's console
 * driver hands it, so a Xen line can land in the middle of a dom0 line (seen on Xen 4.20 under
 * load: `(XEN) uart interrupt taking more than 4ms, switched to polling` inside a protocol line).
 * A protocol line that does not parse and holds `(XEN) ` is split at its last one (the spliced Xen
 * line runs to the end of the serial line): the Xen line is passed on by itself and the protocol
 * line continues on the next serial line.
 */
export class SerialSplices {
  private held: string | null = null;
  /** Lines repaired so far (for the report). */
  repaired = 0;

  /** One serial line in; the lines to process, in order. */
  push(raw: string): string[] {
    const line = this.held === null ? raw : this.held + raw;
    this.held = null;
    const at = line.indexOf(MARKER);
    if (at < 0) return [line];
    const xen = line.lastIndexOf(XEN_PREFIX);
    if (xen <= at || isProtocolJson(line.slice(at + MARKER.length))) return [line];
    this.held = line.slice(0, xen);
    this.repaired++;
    return [line.slice(xen)];
  }

  /** What is still held at the end of the output. */
  flush(): string[] {
    const rest = this.held;
    this.held = null;
    return rest === null ? [] : [rest];
  }
}
