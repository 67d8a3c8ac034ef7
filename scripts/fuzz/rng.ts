/**
 * A small deterministic PRNG for the fuzz generators: input `index` of a run with `seed` is always
 * the same, so a run can be split into parts (index ranges) and any input replayed on its own.
 */
export class Rng {
  private s: number;

  constructor(seed: number, index = 0) {
    // Mix seed and index so neighbouring indexes give unrelated streams.
    this.s = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca77) ^ 0x27d4eb2f) | 0;
    for (let i = 0; i < 4; i++) this.u32();
  }

  /** splitmix32: a uniform 32-bit value. */
  u32(): number {
    this.s = (this.s + 0x9e3779b9) | 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    if (n <= 0) return 0;
    if (n <= 0x1_0000_0000) return Math.floor((this.u32() / 0x1_0000_0000) * n);
    return Math.floor(((this.u32() * 0x1_0000_0000 + this.u32()) / 2 ** 64) * n);
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let r = (this.u32() / 0x1_0000_0000) * total;
    for (const [w, v] of choices) {
      if ((r -= w) < 0) return v;
    }
    return choices[choices.length - 1]![1];
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** A small signed step, mostly within ±4, sometimes up to ±64. */
  delta(): number {
    const d = this.chance(0.85) ? this.int(1, 4) : this.int(5, 64);
    return this.chance(0.5) ? d : -d;
  }
}
