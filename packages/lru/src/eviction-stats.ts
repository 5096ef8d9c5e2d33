import type { EvictionReason, LruStats } from "./options.js";

/**
 * What @kv/lru counts and reports about the entries it drops on its own: the `stats`
 * counters and the `onEvict` hook.
 *
 * The hook is the one piece of user code that runs during an operation, and it must not
 * see a half-done change: drops are queued while lru-cache works (its `dispose` runs in
 * the middle of a `set`) and delivered by `settle()`, which the backend calls once the
 * operation's change is complete. A hook that throws must not fail an operation that
 * has already taken effect (SPEC.md: a failed call has no effect), nor stop the other
 * hooks: its error is rethrown from a microtask, as an uncaught exception, instead of
 * being swallowed.
 */
export class EvictionStats {
  hits = 0;
  misses = 0;
  evictions = 0;
  expirations = 0;
  readonly #onEvict: ((key: string, reason: EvictionReason) => void) | undefined;
  /** Drops waiting for `onEvict`, delivered when the operation that caused them ends. */
  #queued: [string, EvictionReason][] = [];

  constructor(onEvict: ((key: string, reason: EvictionReason) => void) | undefined) {
    this.#onEvict = onEvict;
  }

  /** Drops so far, of either kind: a change tells that lru-cache dropped something. */
  get drops(): number {
    return this.evictions + this.expirations;
  }

  /** Counts a dropped entry and queues it for `onEvict`. */
  drop(key: string, reason: EvictionReason): void {
    if (reason === "evict") this.evictions++;
    else this.expirations++;
    if (this.#onEvict !== undefined) this.#queued.push([key, reason]);
  }

  /** Delivers the queued drops to `onEvict`: call it when the operation's change is complete. */
  settle(): void {
    if (this.#queued.length === 0) return;
    const queued = this.#queued;
    this.#queued = [];
    const hook = this.#onEvict!;
    for (const [key, reason] of queued) {
      try {
        hook(key, reason);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Forgets queued drops (on close: their operation never ends normally). */
  discard(): void {
    this.#queued = [];
  }

  /** The counters, with what the cache holds now. */
  snapshot(entries: number, bytes: number): LruStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      expirations: this.expirations,
      entries,
      bytes,
    };
  }
}
