/**
 * The standard streams as xlp writes them (lib/cli/std-stream.ts): straight to the descriptor,
 * and still correct where Node's stream objects would have been needed: a reader that goes away,
 * a non-blocking pipe that fills up.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createColors } from '../../lib/cli/colors.js';
import { StdStream } from '../../lib/cli/std-stream.js';
import { tempDir } from './support/xlp.js';

/** A FIFO opened at both ends without blocking: [reader, writer]. */
async function fifo(): Promise<[number, number]> {
  const path = join(await tempDir('xlp-fifo-'), 'fifo');
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return [reader, writer];
}

function readAll(fd: number, until: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= until) {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', reject);
  });
}

describe('StdStream', () => {
  it('writes everything, in order, to a non-blocking pipe that fills up (hands the rest to a Node stream)', async () => {
    const [reader, writer] = await fifo();
    const out = new StdStream(writer);
    // Far more than a pipe holds (64 KiB): the first write fills it and meets EAGAIN.
    const parts = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(16 * 1024)}\n`);
    const received = readAll(reader, parts.join('').length);
    for (const p of parts) out.write(p);
    expect((await received).toString('utf8')).toBe(parts.join(''));
  });

  it('drops what comes after the reader went away (EPIPE), without throwing: the command runs to its end', async () => {
    const [reader, writer] = await fifo();
    closeSync(reader);
    const out = new StdStream(writer);
    expect(() => out.write('first\n')).not.toThrow();
    expect(() => out.write('second\n')).not.toThrow();
    expect(out.write('third\n')).toBe(true);
    closeSync(writer);
  });

  it('throws what is not EPIPE or EAGAIN (a closed descriptor)', async () => {
    const [reader, writer] = await fifo();
    closeSync(reader);
    closeSync(writer);
    expect(() => new StdStream(writer).write('x')).toThrow(/EBADF/);
  });

  it('is not a terminal on a pipe or on /dev/null (a character device that is not one)', async () => {
    const [reader, writer] = await fifo();
    expect(new StdStream(writer).isTTY).toBe(false);
    const devNull = openSync('/dev/null', 'w');
    expect(new StdStream(devNull).isTTY).toBe(false);
    for (const fd of [reader, writer, devNull]) closeSync(fd);
  });
});

describe('colours', () => {
  it('wrap text in the ANSI codes, and keep an outer colour after an inner style closes', () => {
    const c = createColors(true);
    expect(c.red('a')).toBe('\x1b[31ma\x1b[39m');
    expect(c.bold(c.red('a'))).toBe('\x1b[1m\x1b[31ma\x1b[39m\x1b[22m');
    // `b` stays red after the inner green ended
    expect(c.red(`${c.green('a')}b`)).toBe('\x1b[31m\x1b[32ma\x1b[39m\x1b[31mb\x1b[39m');
    expect(c.dim(`${c.bold('a')}b`)).toBe('\x1b[2m\x1b[1ma\x1b[22m\x1b[2mb\x1b[22m');
  });

  it('are plain text when off', () => {
    const c = createColors(false);
    for (const f of [c.bold, c.dim, c.red, c.green, c.yellow, c.cyan]) expect(f('a\x1b[39mb')).toBe('a\x1b[39mb');
  });
});
