import {
  type Clock,
  decodeList,
  describeValue,
  incremented,
  KVError,
  KVStore,
  NO_DEADLINE,
  type PreparedAppend,
  planListAppend,
  type ResolvedScan,
  systemClock,
  utf8Length,
} from "@kv/core/adapter";
import { LRUCache } from "lru-cache";
import { DeadlineIndex } from "./deadline-index.js";
import {
  type EvictionReason,
  type LruBackendOptions,
  type LruStats,
  resolveOptions,
} from "./options.js";

/** The first tick a backend hands lru-cache; see "Time" below for why it is not 0. */
const FIRST_TICK = 2;

/** Stale nodes the deadline index may hold beyond twice the entry count before compacting. */
const COMPACT_SLACK = 1024;

/**
 * A bounded in-memory backend: lru-cache 11 holding each value's JSON text, with a cap
 * on entries (`max`) and/or on bytes (`maxBytes`). When a write needs room, the least
 * recently used entries go, and `onEvict` and `stats` say so.
 *
 * Values are stored as JSON text, as in @kv/memory: encoding on write validates the value
 * and detaches it from the caller's object, and a `JSON.parse` per read gives every
 * caller its own copy. The text is also what `maxBytes` accounts: an entry weighs the
 * UTF-8 length of its JSON plus that of its key, recomputed on every write (a list grows
 * by its appends). An entry that alone exceeds `maxBytes` could never be stored, and
 * lru-cache would silently skip it; here it is rejected with `KV_VALUE_TOO_LARGE` before
 * anything changes, and so is an `mset` batch that could not all be held at once.
 *
 * ## No lock needed
 * Every operation does its reading and writing in one synchronous stretch: no `await`
 * anywhere in a method body. An async method's body runs at once when called, so each
 * call takes effect whole, at the moment it is made, before any other call can start:
 * calls are linearizable without a lock (SPEC.md "Concurrency"), the same argument as
 * @kv/memory's. It matters for the read-modify-write operations (`listAppendUnique`,
 * `incr`, `listPopAll`): with an `await` between the read and the write, two appends
 * would read the same list and the second would drop the first's items, two `incr`s
 * would both write `n + 1`. The `onEvict` hook is the one piece of user code that runs
 * during a call, and it is held back until the call's change is complete (see
 * `#settle`), so even a hook that calls the backend sees no half-done state.
 *
 * ## Time
 * TTLs are lru-cache's own (per-entry `ttl` and `start`, read through its `perf` clock).
 * Three details of lru-cache do not match SPEC.md as they stand, so the backend gives it
 * its own time scale, "ticks":
 * 1. lru-cache finds an entry stale when `now - start > ttl`, strictly; SPEC.md expires
 *    it from the instant `now >= deadline`.
 * 2. A `start` of 0 means "no TTL" to lru-cache, and a ManualClock starts at 0.
 * 3. By default lru-cache caches `perf.now()` for `ttlResolution` (1 ms, reset by a
 *    timer), so a read could see a stale time; here `ttlResolution` is 0.
 * A tick is a whole millisecond of the injected clock, counted so that the first one is
 * `FIRST_TICK` (2), never going back. Each operation reads the clock once, and every
 * lru-cache call inside it sees that instant (`perf.now()` returns `#now`): an operation
 * happens at one point in time. An entry written at tick `n` with deadline `D` gets
 * `start = n - 1` and `ttl = D - n`; lru-cache then finds it stale when
 * `m - (n - 1) > D - n`, that is exactly when `m >= D`, and reports
 * `getRemainingTTL = D - m - 1`, so `D = m + remaining + 1`. `start` is never below 1.
 * A clock with fractional milliseconds is read as whole ones (floored), and a deadline
 * is rounded up to the next tick (`#deadline`): never early, at most under 1 ms late.
 *
 * ## Expiry and eviction
 * Expired entries still take room until removed. As in @kv/memory, reads never remove
 * them (`noDeleteOnStaleGet`), so `purgeExpired` counts the same on both backends:
 * `purgeExpired` removes them soonest-deadline first (reported as expirations), a write
 * or delete of the key replaces or removes one silently, and capacity eviction takes
 * them like any other least recently used entry (counted and reported as an expiration,
 * since the value was gone already). There is
 * no timer: lru-cache's `ttlAutopurge` would arm one real-time timer per entry, which
 * an injected clock cannot drive, and the bound on the cache already caps what expired
 * entries can hold.
 */
export class LruBackend extends KVStore {
  readonly #cache: LRUCache<string, string>;
  readonly #index = new DeadlineIndex();
  readonly #clock: Clock;
  /** Clock milliseconds at tick 0. */
  readonly #origin: number;
  /** The current operation's instant, in ticks; what lru-cache's `perf.now()` returns. */
  #now = FIRST_TICK;
  /** The clock's reading at the current operation, fraction included. */
  #instant = 0;
  readonly #max: number | undefined;
  readonly #maxBytes: number | undefined;
  readonly #onEvict: ((key: string, reason: EvictionReason) => void) | undefined;
  /** Drops waiting for `onEvict`, delivered when the operation that caused them ends. */
  #dropped: [string, EvictionReason][] = [];
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;

  constructor(options: LruBackendOptions) {
    const resolved = resolveOptions(options);
    // Every write goes through this object: a write that fills a list hands it straight
    // to a waiting `listPopAll`.
    super({
      name: "LruBackend",
      maxValueBytes: resolved.maxValueBytes,
      wakeups: "own-writes",
    });
    this.#clock = resolved.clock ?? systemClock;
    this.#origin = Math.floor(this.#clock.now()) - FIRST_TICK;
    this.#max = resolved.max;
    this.#maxBytes = resolved.maxBytes;
    this.#onEvict = resolved.onEvict;
    this.#cache = new LRUCache<string, string>({
      max: this.#max ?? 0,
      maxSize: this.#maxBytes ?? 0,
      ttlResolution: 0,
      // An expired entry stays until the purge, a write or a delete takes it, as in
      // @kv/memory: reads never remove anything, so purge counts agree across backends.
      noDeleteOnStaleGet: true,
      perf: { now: () => this.#now },
      dispose: this.#onDispose,
    });
  }

  /** The entry cap, or `undefined` when only `maxBytes` bounds the cache. */
  get max(): number | undefined {
    return this.#max;
  }

  /** The byte cap, or `undefined` when only `max` bounds the cache. */
  get maxBytes(): number | undefined {
    return this.#maxBytes;
  }

  /** Hits, misses, evictions and expirations so far, and what the cache holds now. */
  get stats(): LruStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      expirations: this.#expirations,
      entries: this.#cache.size,
      bytes: this.#cache.calculatedSize,
    };
  }

  // The engine (see KVStore): arguments are checked, values are JSON text, TTLs whole ms.
  // Each method runs in one synchronous stretch (see "No lock needed").

  protected _get(key: string): string | undefined {
    this.#tick();
    const json = this.#cache.get(key);
    if (json === undefined) {
      this.#misses++;
      this.#settle();
    } else {
      this.#hits++;
    }
    return json;
  }

  protected override _mget(keys: string[]): (string | undefined)[] {
    this.#tick();
    const out = new Array<string | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const json = this.#cache.get(keys[i]!);
      if (json === undefined) this.#misses++;
      else this.#hits++;
      out[i] = json;
    }
    this.#settle();
    return out;
  }

  protected _set(key: string, json: string, ttlMs: number | undefined): void {
    const size = this.#sizeOf("set", key, json);
    this.#tick();
    this.#write(key, json, size, ttlMs === undefined ? NO_DEADLINE : this.#deadline(ttlMs), true);
    this.#settle();
  }

  protected _mset(entries: Map<string, string>, ttlMs: number | undefined): void {
    // Every entry is sized before the first write: all or nothing.
    const sizes = this.#batchSizes(entries);
    this.#tick();
    const deadline = ttlMs === undefined ? NO_DEADLINE : this.#deadline(ttlMs);
    let i = 0;
    for (const [key, json] of entries) this.#write(key, json, sizes[i++]!, deadline, true);
    this.#settle();
  }

  protected _delete(key: string): boolean {
    this.#tick();
    // Whatever is stored goes, live or expired (as in @kv/memory); only a live key counts.
    const live = this.#cache.has(key);
    this.#cache.delete(key);
    this.#settle();
    return live;
  }

  protected _listAppend(key: string, append: PreparedAppend): unknown[] {
    const method = "listAppendUnique";
    this.#tick();
    try {
      const json = this.#cache.get(key);
      const plan = planListAppend(method, key, json, append, this.maxValueBytes);
      // An empty call on a missing key stores nothing (SPEC.md "Lists").
      if (plan.text === undefined) return [];
      // Nothing new and no TTL to set: the entry stays as it is.
      if (plan.added === 0 && append.ttlMs === undefined) return plan.list;
      const size = this.#sizeOf(method, key, plan.text);
      // In place: a TTL passed sets the deadline, none keeps the one the list had.
      if (append.ttlMs !== undefined) {
        this.#write(key, plan.text, size, this.#deadline(append.ttlMs), true);
      } else {
        this.#write(key, plan.text, size, this.#keptDeadline(key, json), false);
      }
      return plan.list;
    } finally {
      this.#settle();
    }
  }

  protected _listPop(key: string): unknown[] {
    this.#tick();
    try {
      const json = this.#cache.get(key);
      if (json === undefined) return [];
      const list = decodeList("listPopAll", key, json);
      this.#cache.delete(key);
      return list;
    } finally {
      this.#settle();
    }
  }

  protected _expire(key: string, ttlMs: number): boolean {
    this.#tick();
    const json = this.#cache.get(key);
    if (json === undefined) {
      this.#settle();
      return false;
    }
    // The same text again: lru-cache keeps the entry (no dispose) and takes the new TTL.
    this.#write(key, json, this.#sizeOf("expire", key, json), this.#deadline(ttlMs), true);
    this.#settle();
    return true;
  }

  /**
   * Removes exactly `min(limit, expired)` entries, soonest deadline first, never a live
   * one. It pops the deadline index (see DeadlineIndex) instead of walking the cache:
   * O((limit + s) · log h) for `h` index nodes and `s` stale nodes met on the way, and
   * each stale node is met at most once after the write that made it, so the amortized
   * cost is O(limit · log n) whatever the cache's size. Each candidate is confirmed with
   * lru-cache before it is counted, and lru-cache itself removes it (reason "expire").
   */
  protected _purgeExpired(limit: number): number {
    const now = this.#tick();
    const index = this.#index;
    let removed = 0;
    while (removed < limit && index.firstDeadline() <= now) {
      const key = index.firstKey();
      const deadline = index.firstDeadline();
      index.shift();
      if (this.#deadlineOf(key) !== deadline) continue; // the key moved on: a stale node
      // deadline <= now: lru-cache holds it as stale. Reported as an expiration here, since
      // lru-cache calls an explicit delete a "delete".
      this.#drop(key, "expire");
      this.#cache.delete(key);
      removed++;
    }
    this.#settle();
    return removed;
  }

  protected override _exists(key: string): boolean {
    this.#tick();
    return this.#cache.has(key);
  }

  protected _ttl(key: string): number | undefined {
    this.#tick();
    if (!this.#cache.has(key)) return undefined;
    const left = this.#cache.getRemainingTTL(key);
    if (left === Number.POSITIVE_INFINITY) return left;
    // `left` is `D - now - 1` in ticks (see "Time"). Counted from the clock's exact
    // instant, not its tick, so a deadline rounded up to a whole tick never reports more
    // than the TTL given; a live key reports at least 1 ms.
    const exact = this.#now + left + 1 + this.#origin - this.#instant;
    return Math.max(1, Math.floor(exact));
  }

  protected _incr(key: string, amount: number, ttlMs: number | undefined): number {
    this.#tick();
    try {
      const json = this.#cache.get(key);
      const current = json === undefined ? undefined : JSON.parse(json);
      const next = incremented("incr", key, current, amount);
      const text = String(next);
      const size = this.#sizeOf("incr", key, text);
      if (ttlMs !== undefined) {
        this.#write(key, text, size, this.#deadline(ttlMs), true);
      } else {
        this.#write(key, text, size, this.#keptDeadline(key, json), false);
      }
      return next;
    } finally {
      this.#settle();
    }
  }

  /**
   * O(n + m log m) per call for `n` entries and `m` matches: lru-cache keeps keys in
   * recency order, so the matching live keys are collected and sorted each time. Fine
   * for listing a namespace of a bounded cache; a sorted index would tax every write.
   */
  protected _scanPrefix(scan: ResolvedScan): string[] {
    this.#tick();
    const keys: string[] = [];
    // keys() skips expired entries and leaves recency alone.
    for (const key of this.#cache.keys()) {
      if (!key.startsWith(scan.prefix)) continue;
      if (scan.after !== undefined && key <= scan.after) continue;
      keys.push(key);
    }
    // The default sort compares UTF-16 code units, the order SPEC.md asks for.
    keys.sort();
    return keys.length > scan.limit ? keys.slice(0, scan.limit) : keys;
  }

  protected override _close(): void {
    // Reason "delete" for every entry: the caller's doing, not reported to onEvict.
    this.#cache.clear();
    this.#index.clear();
    this.#dropped = [];
  }

  /** Reads the clock into `#now` (whole ms, never going back) and returns it. */
  #tick(): number {
    const instant = this.#clock.now();
    this.#instant = instant;
    const tick = Math.floor(instant) - this.#origin;
    if (tick > this.#now) this.#now = tick;
    return this.#now;
  }

  /**
   * The tick of a deadline `ttlMs` from the current operation's instant. Ticks are whole
   * milliseconds and the instant may have a fraction: rounding the deadline up means an
   * entry is never expired before SPEC.md's `t + ttl` (at most under 1 ms after it).
   */
  #deadline(ttlMs: number): number {
    return Math.max(this.#now + 1, Math.ceil(this.#instant + ttlMs) - this.#origin);
  }

  /**
   * The bytes `maxBytes` accounts for an entry (0 when it is not set); KV_VALUE_TOO_LARGE
   * for an entry bigger than the whole cache, which lru-cache would silently not store.
   */
  #sizeOf(method: string, key: string, json: string): number {
    const maxBytes = this.#maxBytes;
    if (maxBytes === undefined) return 0;
    const size = utf8Length(key) + utf8Length(json);
    if (size > maxBytes) {
      throw new KVError(
        "KV_VALUE_TOO_LARGE",
        `${method}: the entry for ${describeValue(key)} is ${size} bytes (key + JSON), over the cache's maxBytes (${maxBytes})`,
      );
    }
    return size;
  }

  /**
   * Each entry's size, after checking that the batch fits the cache as a whole: written
   * one by one, a batch over `max` or `maxBytes` would evict its own first entries, and
   * a read right after the "successful" mset would miss.
   */
  #batchSizes(encoded: Map<string, string>): number[] {
    if (this.#max !== undefined && encoded.size > this.#max) {
      throw new KVError(
        "KV_VALUE_TOO_LARGE",
        `mset: the batch has ${encoded.size} keys, over the cache's max (${this.#max})`,
      );
    }
    const sizes: number[] = [];
    let total = 0;
    for (const [key, json] of encoded) {
      const size = this.#sizeOf("mset", key, json);
      total += size;
      sizes.push(size);
    }
    if (this.#maxBytes !== undefined && total > this.#maxBytes) {
      throw new KVError(
        "KV_VALUE_TOO_LARGE",
        `mset: the batch is ${total} bytes (keys + JSON), over the cache's maxBytes (${this.#maxBytes})`,
      );
    }
    return sizes;
  }

  /**
   * Stores `json` under `key` until the tick `deadline` (`NO_DEADLINE`: no TTL, clearing
   * any earlier one). `fresh` marks a deadline the key did not have before, which the
   * deadline index must learn; a kept deadline already has its node.
   */
  #write(key: string, json: string, size: number, deadline: number, fresh: boolean): void {
    const now = this.#now;
    const options: LRUCache.SetOptions<string, string, unknown> =
      deadline === NO_DEADLINE ? {} : { ttl: deadline - now, start: now - 1 };
    if (this.#maxBytes !== undefined) options.size = size;
    this.#cache.set(key, json, options);
    if (!fresh || deadline === NO_DEADLINE) return;
    const index = this.#index;
    index.push(deadline, key);
    if (index.size > 2 * this.#cache.size + COMPACT_SLACK) index.compact(this.#isCurrent);
  }

  /** The deadline a live key keeps through an in-place change (`json` is what it held). */
  #keptDeadline(key: string, json: string | undefined): number {
    return json === undefined ? NO_DEADLINE : (this.#deadlineOf(key) ?? NO_DEADLINE);
  }

  /**
   * The deadline lru-cache holds for `key`, in ticks, expired entries included:
   * `NO_DEADLINE` without a TTL, `undefined` when the key is not in the cache.
   */
  #deadlineOf(key: string): number | undefined {
    const cache = this.#cache;
    const left = cache.getRemainingTTL(key);
    if (left === Number.POSITIVE_INFINITY) return NO_DEADLINE;
    // 0 is also what lru-cache answers for a key it does not hold.
    if (left === 0 && cache.peek(key, { allowStale: true }) === undefined) return undefined;
    return this.#now + left + 1;
  }

  readonly #isCurrent = (key: string, deadline: number): boolean =>
    this.#deadlineOf(key) === deadline;

  /** lru-cache's dispose hook: runs inside lru-cache, so it only counts and queues. */
  readonly #onDispose = (_json: string, key: string, reason: LRUCache.DisposeReason): void => {
    // "set" (an overwrite) and "delete" (delete, listPopAll, close) are the caller's doing.
    if (reason === "expire") {
      this.#drop(key, "expire");
    } else if (reason === "evict") {
      // Still indexed while being evicted: a negative remaining TTL means it had expired.
      this.#drop(key, this.#cache.getRemainingTTL(key) < 0 ? "expire" : "evict");
    }
  };

  #drop(key: string, reason: EvictionReason): void {
    if (reason === "evict") this.#evictions++;
    else this.#expirations++;
    if (this.#onEvict !== undefined) this.#dropped.push([key, reason]);
  }

  /**
   * Delivers queued drops to `onEvict`, once the operation's change is complete. A hook
   * that throws must not fail an operation that has already taken effect (SPEC.md: a
   * failed call has no effect), nor stop the other hooks: its error is rethrown from a
   * microtask, as an uncaught exception, instead of being swallowed.
   */
  #settle(): void {
    if (this.#dropped.length === 0) return;
    const dropped = this.#dropped;
    this.#dropped = [];
    const hook = this.#onEvict!;
    for (const [key, reason] of dropped) {
      try {
        hook(key, reason);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
