import {
  decodeList,
  describeValue,
  ExpiryIndex,
  incremented,
  KVError,
  KVStore,
  NO_DEADLINE,
  OrderedKeys,
  type PreparedAppend,
  PurgeScheduler,
  planListAppend,
  type ResolvedScan,
  systemClock,
  utf8Length,
} from "@kv/core/adapter";
import { LRUCache } from "lru-cache";
import { EvictionStats } from "./eviction-stats.js";
import { type LruBackendOptions, type LruStats, resolveOptions } from "./options.js";
import { Ticks } from "./ticks.js";

/** lru-cache's peek options that also see an expired entry. */
const ALLOW_STALE = { allowStale: true } as const;

/**
 * A bounded in-memory backend: lru-cache 11 holding each value's JSON text, with a cap
 * on entries (`max`) and/or on bytes (`maxBytes`). When a write needs room, the least
 * recently used entries go, and `onEvict` and `stats` say so (`eviction-stats.ts`).
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
 * anywhere in a method body, so each call takes effect whole, before any other call can
 * start (linearizable without a lock, SPEC.md "Concurrency"; the same argument as
 * @kv/memory's). The `onEvict` hook is held back until the call's change is complete.
 *
 * ## Time
 * TTLs are lru-cache's own, on a time scale of whole-millisecond "ticks" that makes
 * lru-cache expire entries exactly when SPEC.md does (`ticks.ts`). The clock is read
 * once per operation, and not at all by an operation that sets no TTL while the cache
 * holds no entry with one (the expiry index is empty).
 *
 * ## Expiry and eviction
 * Reads never remove an expired entry (`noDeleteOnStaleGet`), so `purgeExpired` counts
 * the same on both in-process backends. Expired entries are removed soonest first from
 * core's `ExpiryIndex` (keys with their deadline tick, checked against lru-cache before
 * they count) by `purgeExpired`, by core's `PurgeScheduler` (background rounds), and by
 * writes that help: before a write, up to two expired entries go, and more while the
 * cache is full, so capacity is not spent on expired entries while live ones would be
 * evicted. Capacity eviction that takes an entry which had already expired reports it
 * as an expiration. Under an injected clock only `purgeExpired` and writes to the key
 * itself remove expired entries, unless `purgeIntervalSeconds` or `purgeOnWrite` ask.
 *
 * ## Scans
 * `scanPrefix` walks core's `OrderedKeys`, built at the first scan (from lru-cache's
 * keys and the expiry index, which holds every expired entry) and kept up by the writes
 * that may add a key: O(log n + limit) per page.
 */
export class LruBackend extends KVStore {
  readonly #cache: LRUCache<string, string>;
  readonly #ticks: Ticks;
  readonly #index = new ExpiryIndex<string>((key, deadline) => this.#deadlineOf(key) === deadline);
  /**
   * The sorted keys, for scans: dormant (free) until the first scan. lru-cache's keys()
   * leaves expired entries out; every one of those has a node in the expiry index, so
   * the two together are every key the cache holds.
   */
  readonly #keys = new OrderedKeys({
    present: (key) => this.#cache.peek(key, ALLOW_STALE) !== undefined,
    held: () => this.#cache.size,
    source: () => [...this.#cache.keys(), ...this.#index.items()],
  });
  readonly #stats: EvictionStats;
  readonly #max: number | undefined;
  readonly #maxBytes: number | undefined;
  /** Expired entries a write removes first (0: writes do not help). */
  readonly #assist: number;
  readonly #purger: PurgeScheduler;
  /** lru-cache's set options, reused by every write (lru-cache reads them synchronously). */
  readonly #setOptions: LRUCache.SetOptions<string, string, unknown> = {};

  constructor(options: LruBackendOptions) {
    const resolved = resolveOptions(options);
    // Every write goes through this object: a write that fills a list hands it straight
    // to a waiting `listPopAll`.
    super({
      name: "LruBackend",
      maxValueBytes: resolved.maxValueBytes,
      wakeups: "own-writes",
    });
    this.#ticks = new Ticks(resolved.clock ?? systemClock);
    this.#max = resolved.max;
    this.#maxBytes = resolved.maxBytes;
    this.#stats = new EvictionStats(resolved.onEvict);
    this.#cache = new LRUCache<string, string>({
      max: this.#max ?? 0,
      maxSize: this.#maxBytes ?? 0,
      ttlResolution: 0,
      // An expired entry stays until the purge, a write or a delete takes it, as in
      // @kv/memory: reads never remove anything, so purge counts agree across backends.
      noDeleteOnStaleGet: true,
      // An overwrite is the caller's doing: no dispose call for it.
      noDisposeOnSet: true,
      perf: this.#ticks.perf,
      dispose: this.#onDispose,
    });
    this.#assist = resolved.purge.assist;
    this.#purger = new PurgeScheduler({
      // A round runs outside any operation: it reports its drops to onEvict at once.
      purge: (limit) => this._purgeExpired(limit),
      intervalMs: resolved.purge.intervalMs,
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
    return this.#stats.snapshot(this.#cache.size, this.#cache.calculatedSize);
  }

  /** The background purge: `runRound()` purges now, as a background round would. */
  get purger(): PurgeScheduler {
    return this.#purger;
  }

  // The engine (see KVStore): arguments are checked, values are JSON text, TTLs whole ms.
  // Each method runs in one synchronous stretch (see "No lock needed").

  protected _get(key: string): string | undefined {
    this.#sync();
    const json = this.#cache.get(key);
    if (json === undefined) {
      this.#stats.misses++;
      this.#stats.settle();
    } else {
      this.#stats.hits++;
    }
    return json;
  }

  protected override _mget(keys: string[]): (string | undefined)[] {
    this.#sync();
    const out = new Array<string | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const json = this.#cache.get(keys[i]!);
      if (json === undefined) this.#stats.misses++;
      else this.#stats.hits++;
      out[i] = json;
    }
    this.#stats.settle();
    return out;
  }

  protected _set(key: string, json: string, ttlMs: number | undefined): void {
    const size = this.#sizeOf("set", key, json);
    if (ttlMs === undefined) {
      // No time needed unless some entry has a TTL (then one may have expired).
      if (this.#index.nodes !== 0) this.#help(this.#ticks.read(), 1, size);
      this.#write(key, json, size, NO_DEADLINE, true);
    } else {
      this.#help(this.#ticks.read(), 1, size);
      this.#write(key, json, size, this.#ticks.deadline(ttlMs), true);
    }
    this.#stats.settle();
  }

  protected _mset(entries: Map<string, string>, ttlMs: number | undefined): void {
    // Every entry is sized before the first write: all or nothing.
    const sizes = this.#batchSizes(entries);
    const now = this.#ticks.read();
    this.#help(now, entries.size, 0);
    const deadline = ttlMs === undefined ? NO_DEADLINE : this.#ticks.deadline(ttlMs);
    let i = 0;
    for (const [key, json] of entries) this.#write(key, json, sizes[i++]!, deadline, true);
    this.#stats.settle();
  }

  protected _delete(key: string): boolean {
    this.#sync();
    // Whatever is stored goes, live or expired (as in @kv/memory); only a live key counts.
    const live = this.#cache.has(key);
    this.#cache.delete(key);
    this.#stats.settle();
    return live;
  }

  protected _listAppend(key: string, append: PreparedAppend): unknown[] {
    const method = "listAppendUnique";
    this.#ticks.read();
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
        this.#help(this.#ticks.now, 1, size);
        this.#write(key, plan.text, size, this.#ticks.deadline(append.ttlMs), true);
      } else {
        this.#write(key, plan.text, size, this.#keptDeadline(key, json), false);
      }
      return plan.list;
    } finally {
      this.#stats.settle();
    }
  }

  protected _listPop(key: string): unknown[] {
    this.#sync();
    try {
      const json = this.#cache.get(key);
      if (json === undefined) return [];
      const list = decodeList("listPopAll", key, json);
      this.#cache.delete(key);
      return list;
    } finally {
      this.#stats.settle();
    }
  }

  protected _expire(key: string, ttlMs: number): boolean {
    this.#ticks.read();
    const json = this.#cache.get(key);
    if (json === undefined) {
      this.#stats.settle();
      return false;
    }
    // The same text again: lru-cache keeps the entry and takes the new TTL.
    this.#write(key, json, this.#sizeOf("expire", key, json), this.#ticks.deadline(ttlMs), true);
    this.#stats.settle();
    return true;
  }

  /**
   * Removes exactly `min(limit, expired)` entries, soonest deadline first, never a live
   * one, from the expiry index: O(limit) amortized whatever the cache's size.
   */
  protected _purgeExpired(limit: number): number {
    const removed = this.#purge(this.#ticks.read(), limit);
    this.#stats.settle();
    return removed;
  }

  /** A namespaced view's purge: the expired entries among the prefix's keys, in key order. */
  protected override _purgeExpiredPrefix(prefix: string, limit: number): number {
    this.#ticks.read();
    const cache = this.#cache;
    // Stale: still held (peek with allowStale finds it) but no longer live (has() does not).
    const expired = this.#keys.scan(
      { prefix, limit, after: undefined },
      (key) => !cache.has(key) && cache.peek(key, ALLOW_STALE) !== undefined,
    );
    for (const key of expired) {
      this.#stats.drop(key, "expire");
      cache.delete(key);
    }
    this.#stats.settle();
    return expired.length;
  }

  protected override _exists(key: string): boolean {
    this.#sync();
    return this.#cache.has(key);
  }

  protected _ttl(key: string): number | undefined {
    this.#ticks.read();
    if (!this.#cache.has(key)) return undefined;
    const left = this.#cache.getRemainingTTL(key);
    return left === Number.POSITIVE_INFINITY ? left : this.#ticks.msLeft(left);
  }

  protected _incr(key: string, amount: number, ttlMs: number | undefined): number {
    const now = this.#ticks.read();
    try {
      const json = this.#cache.get(key);
      const current = json === undefined ? undefined : JSON.parse(json);
      const next = incremented("incr", key, current, amount);
      const text = String(next);
      const size = this.#sizeOf("incr", key, text);
      if (ttlMs !== undefined) {
        this.#help(now, 1, size);
        this.#write(key, text, size, this.#ticks.deadline(ttlMs), true);
      } else {
        this.#write(key, text, size, this.#keptDeadline(key, json), false);
      }
      return next;
    } finally {
      this.#stats.settle();
    }
  }

  /** O(log n + limit) on the ordered index (built by the first scan). */
  protected _scanPrefix(scan: ResolvedScan): string[] {
    this.#sync();
    const cache = this.#cache;
    // has() finds live keys only, and leaves recency alone.
    return this.#keys.scan(scan, (key) => cache.has(key));
  }

  protected override _close(): void {
    this.#purger.close();
    // Reason "delete" for every entry: the caller's doing, not reported to onEvict.
    this.#cache.clear();
    this.#index.clear();
    this.#keys.clear();
    this.#stats.discard();
  }

  /** Brings lru-cache's time up to date when any entry has a TTL; none needs no time. */
  #sync(): void {
    if (this.#index.nodes !== 0) this.#ticks.read();
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
   * expiry index must learn; a kept deadline already has its node.
   */
  #write(key: string, json: string, size: number, deadline: number, fresh: boolean): void {
    const cache = this.#cache;
    // One node per deadline: a write that keeps the key's deadline (the same TTL within
    // the same millisecond) needs no new one.
    const indexed = fresh && deadline !== NO_DEADLINE && this.#deadlineOf(key) !== deadline;
    const options = this.#setOptions;
    this.#ticks.setTtl(options, deadline);
    if (this.#maxBytes !== undefined) options.size = size;
    const keys = this.#keys;
    if (!keys.active) {
      cache.set(key, json, options);
    } else {
      // A key is new when the cache grew, or may be when lru-cache dropped an entry to
      // make room: the ordered index takes it (adding a known key is harmless).
      const held = cache.size;
      const drops = this.#stats.drops;
      cache.set(key, json, options);
      if (cache.size > held || this.#stats.drops !== drops) keys.add(key);
    }
    if (indexed) this.#index.add(key, deadline, deadline - this.#ticks.now, cache.size);
  }

  /**
   * Writes help the purge (when `purgeOnWrite` is on): before `writes` writes, up to
   * `#assist` expired entries per write go, and more while the cache is full (for a
   * write of `size` bytes), so that lru-cache never evicts a live entry while an expired
   * one takes room.
   */
  #help(now: number, writes: number, size: number): void {
    if (this.#assist === 0 || this.#index.nextDeadline() > now) return;
    this.#purge(now, this.#assist * writes);
    const cache = this.#cache;
    const max = this.#max ?? Number.POSITIVE_INFINITY;
    const maxBytes = this.#maxBytes ?? Number.POSITIVE_INFINITY;
    while (
      (cache.size + writes > max || cache.calculatedSize + size > maxBytes) &&
      this.#purge(now, 1) === 1
    );
  }

  /** Removes up to `limit` expired entries, soonest deadline first; returns how many. */
  #purge(now: number, limit: number): number {
    const index = this.#index;
    const cache = this.#cache;
    let removed = 0;
    while (removed < limit) {
      const key = index.takeExpired(now);
      if (key === undefined) break;
      // Current: lru-cache holds it with that deadline, <= now, so as stale. Reported as
      // an expiration here, since lru-cache calls an explicit delete a "delete".
      this.#stats.drop(key, "expire");
      cache.delete(key);
      removed++;
    }
    return removed;
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
    if (left === 0 && cache.peek(key, ALLOW_STALE) === undefined) return undefined;
    return this.#ticks.deadlineOf(left);
  }

  /** lru-cache's dispose hook: runs inside lru-cache, so it only counts and queues. */
  readonly #onDispose = (_json: string, key: string, reason: LRUCache.DisposeReason): void => {
    // "delete" (delete, listPopAll, purge, close) is the caller's doing; overwrites call
    // no dispose (noDisposeOnSet).
    if (reason === "expire") {
      this.#stats.drop(key, "expire");
    } else if (reason === "evict") {
      // Still indexed while being evicted: a negative remaining TTL means it had expired.
      this.#stats.drop(key, this.#cache.getRemainingTTL(key) < 0 ? "expire" : "evict");
    }
  };
}
