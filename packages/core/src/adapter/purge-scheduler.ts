import type { Clock } from "../clock.js";
import { invalidArgument } from "../errors.js";
import { ttlToMs } from "../ttl.js";

/**
 * The purge that keeps up, for in-process engines: expired entries are removed at the
 * rate they expire, so a store that nobody reads stays near its live size by itself.
 * Two mechanisms, both bounded:
 *
 * - **Background rounds.** Every `intervalMs` a round starts: it purges in slices of at
 *   most `sliceMs` (calls of the engine's purge, `batch` entries each, until the time
 *   is up), and while a slice still found a full batch it yields to the event loop
 *   (`setImmediate`) and runs the next slice; a round ends when a slice comes up short
 *   of expired entries. The work follows the expiry rate: a store where a million keys
 *   expire at once is emptied in a few hundred 2 ms slices, an idle one costs one
 *   timer per interval. The timer is unref'd: it never keeps the process alive.
 * - **Writes help** (`assist`, see `PurgeOptions`): an engine removes up to
 *   `WRITE_ASSIST` expired entries from the head of its expiry index on each write that
 *   can add an expiring entry, as Redis's active expiry does: O(1) per write, and since
 *   a write creates at most one expiring entry and removes up to two expired ones, the
 *   expired entries cannot outgrow the live ones at any write rate.
 *
 * Under an injected clock (a test moving time by hand) both are off unless asked for:
 * a real timer purging behind the test's back, or a write removing entries other than
 * its own key, would change what `purgeExpired` counts.
 */
export interface PurgeSchedulerOptions {
  /** The engine's purge: removes at most `limit` expired entries now; returns how many. */
  purge: (limit: number) => number;
  /** Milliseconds between background rounds; `false`: no timer (call `runRound` yourself). */
  intervalMs: number | false;
  /** Entries per purge call within a slice. Default `PURGE_SLICE_BATCH`. */
  batch?: number;
  /** The longest a slice runs before yielding to the event loop, in ms. Default `PURGE_SLICE_MS`. */
  sliceMs?: number;
}

/** Expired entries a write removes, at most, when `assist` is on. */
export const WRITE_ASSIST = 2;
/** Entries per purge call within a background slice. */
export const PURGE_SLICE_BATCH = 128;
/** A background slice yields to the event loop after this many milliseconds. */
export const PURGE_SLICE_MS = 2;

/** setTimeout turns delays over 2^31 - 1 ms into 1 ms: clamp instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class PurgeScheduler {
  readonly #purge: (limit: number) => number;
  readonly #intervalMs: number | false;
  readonly #batch: number;
  readonly #sliceMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #closed = false;
  #removed = 0;
  #slices = 0;
  #longestSliceMs = 0;

  constructor(options: PurgeSchedulerOptions) {
    this.#purge = options.purge;
    this.#intervalMs = options.intervalMs;
    this.#batch = options.batch ?? PURGE_SLICE_BATCH;
    this.#sliceMs = options.sliceMs ?? PURGE_SLICE_MS;
    this.#arm();
  }

  /** Entries the slices removed so far, how many slices ran, and the longest one (ms). */
  get stats(): { removed: number; slices: number; longestSliceMs: number } {
    return {
      removed: this.#removed,
      slices: this.#slices,
      longestSliceMs: this.#longestSliceMs,
    };
  }

  /**
   * One slice: purges `batch` at a time until `sliceMs` has passed or a call comes up
   * short. Returns how many it removed and whether more may be expired (the slice ran
   * out of time, not of expired entries).
   */
  runSlice(): { removed: number; more: boolean } {
    const batch = this.#batch;
    const started = performance.now();
    const until = started + this.#sliceMs;
    let removed = 0;
    let more = true;
    this.#slices++;
    for (;;) {
      const n = this.#purge(batch);
      removed += n;
      if (n < batch) {
        more = false;
        break;
      }
      if (performance.now() >= until) break;
    }
    const took = performance.now() - started;
    if (took > this.#longestSliceMs) this.#longestSliceMs = took;
    this.#removed += removed;
    return { removed, more };
  }

  /**
   * A whole round at once, synchronously: slices until none is left expired. For tests
   * and for a caller that drives the purge itself (`intervalMs: false`).
   */
  runRound(): number {
    let removed = 0;
    for (;;) {
      const slice = this.runSlice();
      removed += slice.removed;
      if (!slice.more) return removed;
    }
  }

  /** Stops the background rounds; idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  #arm(): void {
    if (this.#intervalMs === false || this.#closed) return;
    this.#timer = setTimeout(this.#round, Math.min(this.#intervalMs, MAX_TIMER_MS));
    this.#timer.unref();
  }

  readonly #round = (): void => {
    this.#timer = undefined;
    this.#immediate = undefined;
    if (this.#closed) return;
    const { more } = this.runSlice();
    if (more) {
      // Yield to the event loop (I/O, other callbacks), then go on with the round.
      this.#immediate = setImmediate(this.#round);
      this.#immediate.unref();
    } else {
      this.#arm();
    }
  };
}

/** The purge options an in-process backend takes (both @kv/memory and @kv/lru). */
export interface PurgeOptions {
  /** Where TTLs read the time; only whether one was passed matters here. */
  clock?: Clock;
  /**
   * Seconds between background purge rounds (each round keeps going, in slices of at
   * most 2 ms, while it finds expired entries); `false` turns them off. Default 1 on the
   * system clock, off when a `clock` is passed: an injected clock is a test moving time
   * by hand, and a real-time timer purging behind its back would make `purgeExpired`'s
   * counts depend on timing (pass a number to have both).
   */
  purgeIntervalSeconds?: number | false;
  /**
   * Whether writes help: each write that can add an expiring entry removes up to two
   * expired ones (any keys, soonest deadline first), so expired entries never outgrow
   * live ones whatever the write rate. Default on with the system clock, off when a
   * `clock` is passed (then only `purgeExpired`, the background rounds if asked for, and
   * a write to the expired key itself remove anything, and `purgeExpired` counts exactly
   * what the test expired).
   */
  purgeOnWrite?: boolean;
}

export interface ResolvedPurge {
  /** Background interval in ms, or `false`. */
  intervalMs: number | false;
  /** Expired entries a write removes: `WRITE_ASSIST`, or 0 when off. */
  assist: number;
}

/** Checks and defaults the purge options; every problem is a `KV_INVALID_ARGUMENT`. */
export function resolvePurgeOptions(where: string, options: PurgeOptions): ResolvedPurge {
  const injected = options.clock !== undefined;
  const interval = options.purgeIntervalSeconds ?? (injected ? false : 1);
  const intervalMs = interval === false ? false : ttlToMs(where, interval, "purgeIntervalSeconds");
  const onWrite = options.purgeOnWrite ?? !injected;
  if (typeof onWrite !== "boolean") {
    throw invalidArgument(where, "purgeOnWrite must be a boolean", onWrite);
  }
  return { intervalMs, assist: onWrite ? WRITE_ASSIST : 0 };
}
