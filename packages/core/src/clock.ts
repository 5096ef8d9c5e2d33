/** Where in-process backends read the time, in milliseconds. Inject one to test TTLs without sleeping. */
export interface Clock {
  now(): number;
}

// performance.now() is monotonic: a wall-clock step (NTP, a laptop waking) must not
// expire a whole store at once or keep dead keys alive. The origin makes the numbers
// epoch-like, which only matters for reading them in a debugger.
const origin = performance.timeOrigin;

/** The real clock: monotonic milliseconds. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
};

/** A clock that only moves when told to: for tests of TTLs. */
export class ManualClock implements Clock {
  #now: number;

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0 (got ${ms})`);
    this.#now += ms;
  }

  /** Sets the time; it may not go backwards. */
  set(ms: number): void {
    if (!(ms >= this.#now))
      throw new RangeError(`ManualClock.set: time may not go back (got ${ms})`);
    this.#now = ms;
  }
}
