import type { Clock } from "@kv/core/adapter";

/** The first tick a backend hands lru-cache: never 0 (see `Ticks`), and `start = tick - 1` is never 0 either. */
export const FIRST_TICK = 2;

/**
 * The time scale @kv/lru hands lru-cache: "ticks". TTLs are lru-cache's own (per-entry
 * `ttl` and `start`, read through its `perf` clock), and three details of lru-cache do
 * not match SPEC.md as they stand:
 * 1. lru-cache finds an entry stale when `now - start > ttl`, strictly; SPEC.md expires
 *    it from the instant `now >= deadline`.
 * 2. A `start` of 0 means "no TTL" to lru-cache, and a ManualClock starts at 0.
 * 3. By default lru-cache caches `perf.now()` for `ttlResolution` (1 ms, reset by a
 *    timer), so a read could see a stale time; the backend sets `ttlResolution` to 0.
 *
 * A tick is a whole millisecond of the injected clock, counted so that the first one is
 * `FIRST_TICK` (2), never going back. An operation reads the clock once (`read`), and
 * every lru-cache call inside it sees that instant (`perf.now()` returns `now`): an
 * operation happens at one point in time. An entry written at tick `n` with deadline `D`
 * gets `start = n - 1` and `ttl = D - n` (`setTtl`); lru-cache then finds it stale when
 * `m - (n - 1) > D - n`, that is exactly when `m >= D`, and reports
 * `getRemainingTTL = D - m - 1`, so `D = m + remaining + 1` (`deadlineOf`). `start` is
 * never below 1. A clock with fractional milliseconds is read as whole ones (floored),
 * and a deadline is rounded up to the next tick (`deadline`): never early, at most under
 * 1 ms late.
 */
export class Ticks {
  readonly #clock: Clock;
  /** Clock milliseconds at tick 0. */
  readonly #origin: number;
  /** The current operation's instant, in ticks: what lru-cache's `perf.now()` returns. */
  now = FIRST_TICK;
  /** The clock's reading at the current operation, fraction included. */
  #instant = 0;
  /** lru-cache's `perf` option. */
  readonly perf = { now: (): number => this.now };

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#instant = clock.now();
    this.#origin = Math.floor(this.#instant) - FIRST_TICK;
  }

  /** Reads the clock into `now` (whole ms, never going back) and returns it. */
  read(): number {
    const instant = this.#clock.now();
    this.#instant = instant;
    const tick = Math.floor(instant) - this.#origin;
    if (tick > this.now) this.now = tick;
    return this.now;
  }

  /**
   * The tick of a deadline `ttlMs` from the current operation's instant. Ticks are whole
   * milliseconds and the instant may have a fraction: rounding the deadline up means an
   * entry is never expired before SPEC.md's `t + ttl` (at most under 1 ms after it).
   */
  deadline(ttlMs: number): number {
    return Math.max(this.now + 1, Math.ceil(this.#instant + ttlMs) - this.#origin);
  }

  /** lru-cache's `ttl` and `start` for an entry expiring at the tick `deadline` (Infinity: none). */
  setTtl(options: { ttl?: number; start?: number }, deadline: number): void {
    if (deadline === Number.POSITIVE_INFINITY) {
      options.ttl = 0;
      options.start = undefined;
    } else {
      options.ttl = deadline - this.now;
      options.start = this.now - 1;
    }
  }

  /** The deadline tick of an entry lru-cache reports `remaining` ticks for (`getRemainingTTL`). */
  deadlineOf(remaining: number): number {
    return this.now + remaining + 1;
  }

  /**
   * What `ttl()` reports, in ms, for an entry lru-cache reports `remaining` ticks for:
   * counted from the clock's exact instant, not its tick, so a deadline rounded up to a
   * whole tick never reports more than the TTL given; a live key reports at least 1 ms.
   */
  msLeft(remaining: number): number {
    const exact = this.now + remaining + 1 + this.#origin - this.#instant;
    return Math.max(1, Math.floor(exact));
  }
}
