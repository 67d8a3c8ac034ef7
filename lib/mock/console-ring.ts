/**
 * The hypervisor console ring (xen/drivers/char/console.c `conring`): a fixed-size byte ring with
 * free-running producer/consumer indexes. When it overflows, the oldest bytes are lost, possibly
 * mid-line, exactly as in Xen. `xc_readconsolering` with `incremental` passes back the index it got
 * last time and receives only what was written since (or everything still in the ring if that
 * index has been overwritten); each reader keeps its own index.
 */

/** Xen's default ring size (`_CONRING_SIZE`), which a 2-CPU host keeps. */
export const DEFAULT_CONRING_SIZE = 16 * 1024;

export interface ConsoleRingState {
  readonly size: number;
  /** Free-running index of the oldest byte still in the ring (`conringc`). */
  readonly consumer: number;
  /** Free-running index one past the newest byte (`conringp`). */
  readonly producer: number;
  /** The bytes from `consumer` to `producer`, base64. */
  readonly data: string;
}

export class ConsoleRing {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private consumer = 0;
  private producer = 0;

  constructor(readonly size: number = DEFAULT_CONRING_SIZE) {
    if (!Number.isInteger(size) || size < 64) throw new RangeError(`console ring size must be an integer >= 64, not ${size}`);
  }

  static restore(state: ConsoleRingState): ConsoleRing {
    const ring = new ConsoleRing(state.size);
    const data = Buffer.from(state.data, 'base64');
    ring.chunks = data.length ? [data] : [];
    ring.bytes = data.length;
    ring.consumer = state.consumer;
    ring.producer = state.producer;
    return ring;
  }

  snapshot(): ConsoleRingState {
    return { size: this.size, consumer: this.consumer, producer: this.producer, data: Buffer.concat(this.chunks).toString('base64') };
  }

  /** Index one past the newest byte: what an incremental reader that read everything holds. */
  get index(): number {
    return this.producer;
  }

  write(text: string): void {
    if (!text) return;
    const buf = Buffer.from(text, 'utf8');
    this.chunks.push(buf);
    this.bytes += buf.length;
    this.producer += buf.length;
    // Drop whole chunks while the ring overflows, then trim the first one: the rest fits exactly.
    while (this.bytes > this.size) {
      const first = this.chunks[0]!;
      const excess = this.bytes - this.size;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
    }
    this.consumer = this.producer - this.bytes;
  }

  /**
   * `read_console_ring`: everything still in the ring, or with `fromIndex` (an incremental read)
   * what was written after that index if it is still in the ring. Returns the text and the index
   * to pass next time.
   */
  read(fromIndex?: number): { text: string; index: number } {
    let start = this.consumer;
    if (fromIndex !== undefined && fromIndex > this.consumer && fromIndex <= this.producer) start = fromIndex;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (this.chunks.length > 1) this.chunks = [all];
    return { text: all.subarray(start - this.consumer).toString('utf8'), index: this.producer };
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
    this.consumer = this.producer;
  }
}
