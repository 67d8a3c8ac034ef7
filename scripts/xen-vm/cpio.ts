// A minimal writer for the uncompressed "newc" cpio format the Linux initramfs unpacker reads.
// Entries are written in order, with fixed mtime/uid so that equal inputs give equal bytes.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; source: string | Buffer }
  | { type: 'symlink'; path: string; target: string };

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

export class CpioWriter {
  private fd: number;
  private ino = 1;
  private seen = new Set<string>();

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  private header(name: string, mode: number, size: number, nlink: number): void {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [this.ino++, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameBytes.length, 0];
    const hdr = `070701${fields.map(hex8).join('')}`;
    const head = Buffer.concat([Buffer.from(hdr, 'latin1'), nameBytes]);
    writeSync(this.fd, Buffer.concat([head, Buffer.alloc(pad4(head.length))]));
  }

  private data(buf: Buffer): void {
    writeSync(this.fd, buf);
    const p = pad4(buf.length);
    if (p) writeSync(this.fd, Buffer.alloc(p));
  }

  add(e: CpioEntry): void {
    const name = e.path.replace(/^\/+/, '');
    if (!name || this.seen.has(name)) return;
    this.seen.add(name);
    if (e.type === 'dir') {
      this.header(name, 0o040000 | (e.mode ?? 0o755), 0, 2);
    } else if (e.type === 'symlink') {
      const t = Buffer.from(e.target, 'utf8');
      this.header(name, 0o120000 | 0o777, t.length, 1);
      this.data(t);
    } else {
      const buf = typeof e.source === 'string' ? readFileSync(e.source) : e.source;
      this.header(name, 0o100000 | (e.mode ?? 0o644), buf.length, 1);
      this.data(buf);
    }
  }

  close(): void {
    this.header('TRAILER!!!', 0, 0, 1);
    closeSync(this.fd);
  }
}
