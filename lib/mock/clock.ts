/**
 * Time for the simulated idle loop. Pending work records the time it becomes due and is completed by
 * whichever call next touches the mock, so nothing depends on a timer firing; the clock only has to
 * be shared by every process using one state directory (wall-clock ms) or be driven by a test.
 */
export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock back (${ms} ms)`);
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
