import {
  type Clock,
  DEFAULT_PURGE_LIMIT,
  decodeList,
  incremented,
  invalidArgument,
  KVStore,
  keepOrSetDeadline,
  NO_DEADLINE,
  type PreparedAppend,
  planListAppend,
  type ResolvedScan,
  resolveLimit,
  systemClock,
  ttlToMs,
} from "@kv/core/adapter";
import { ExpiryIndex } from "./expiry-index.js";

export interface MemoryBackendOptions {
  /** Where TTLs read the time (milliseconds). Default: a monotonic system clock. */
  clock?: Clock;
  /** The largest value, as UTF-8 bytes of JSON. Default 1 MiB. */
  maxValueBytes?: number;
  /**
   * How often, in seconds, a background timer purges expired entries, so that keys
   * nobody reads again do not pile up; `false` turns it off. Default 1 on the system
   * clock, and off when a `clock` is passed: an injected clock is a test moving time by
   * hand, and a real-time timer purging behind its back would make `purgeExpired`'s
   * counts depend on timing (pass a number to have both). The timer is unref'd: it
   * never keeps the process alive.
   */
  purgeIntervalSeconds?: number | false;
  /** The most expired entries one background tick removes (bounded work). Default 1000. */
  purgeBatchSize?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** One stored key. `json` is the value's JSON text: each read parses a fresh copy. */
interface Entry {
  readonly key: string;
  json: string;
  /** Expired from the instant `now >= deadline`; `NO_DEADLINE` (Infinity) for no TTL. */
  deadline: number;
  /** In the expiry index: it has a TTL and is in the store. */
  indexed: boolean;
}

/**
 * The embedded default backend: a `Map` of JSON text plus an expiry index.
 *
 * Values are stored as JSON text, not as objects: encoding once on write both validates
 * the value and makes the store immune to later mutation of the caller's object, and a
 * `JSON.parse` per read hands every caller its own copy (SPEC.md "stored by value").
 *
 * ## The lock
 * The reference implementation guards its dict with an asyncio lock. Here the lock is
 * JavaScript's run-to-completion: every operation does all of its reading and writing in
 * one synchronous stretch, with no `await` inside, so no other call can run in between
 * and calls take effect in the order they were made (linearizable, SPEC.md
 * "Concurrency"). Code of the caller's that runs during a call (a `toJSON`, a getter, the
 * iterator passed to `mset`) runs while the arguments are encoded, before the store is
 * read, so it cannot observe or break a half-done update either.
 *
 * It matters for the read-modify-write operations: `listAppendUnique`, `incr` and
 * `listPopAll` read the current value and write the next one. Were there an `await`
 * between the two (an async clock, an async hook, an awaited encode), two concurrent
 * appends would both read the same list and the second write would drop the first's
 * items; two `incr`s would both write `n + 1`; a pop racing an append could lose the
 * appended item. The conformance suite's concurrency tests catch exactly those. Keep
 * every operation body synchronous.
 *
 * ## Expiry
 * Reads never remove anything: an expired entry is invisible to every operation and is
 * removed by `purgeExpired` (and the background purge), or when a write replaces or
 * deletes its key. `purgeExpired` takes them from the expiry index (see ExpiryIndex), soonest
 * first, at a cost in proportion to `limit`, not to the store's size.
 */
export class MemoryBackend extends KVStore {
  readonly #map = new Map<string, Entry>();
  readonly #expiry = new ExpiryIndex<Entry>();
  readonly #clock: Clock;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryBackendOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw invalidArgument("MemoryBackend", "options must be an object", options);
    }
    // Every write goes through this object: a write that fills a list hands it straight
    // to a waiting `listPopAll`.
    super({ name: "MemoryBackend", maxValueBytes: options.maxValueBytes, wakeups: "own-writes" });
    this.#clock = options.clock ?? systemClock;
    const interval = options.purgeIntervalSeconds ?? (options.clock === undefined ? 1 : false);
    const batch = resolveLimit(
      "MemoryBackend",
      options.purgeBatchSize,
      DEFAULT_PURGE_LIMIT,
      "purgeBatchSize",
    );
    if (interval !== false) {
      const ms = ttlToMs("MemoryBackend", interval, "purgeIntervalSeconds");
      // setInterval turns delays over 2^31 - 1 ms into 1 ms: clamp instead.
      this.#timer = setInterval(() => this._purgeExpired(batch), Math.min(ms, MAX_TIMER_MS));
      this.#timer.unref();
    }
  }

  /** Number of stored entries, expired ones not yet purged included. */
  get size(): number {
    return this.#map.size;
  }

  // The engine (see KVStore): arguments are checked, values are JSON text, TTLs whole ms.
  // Each method runs in one synchronous stretch: that is the lock (see above).

  protected _get(key: string): string | undefined {
    return this.#live(key)?.json;
  }

  protected override _mget(keys: string[]): (string | undefined)[] {
    const now = this.#clock.now();
    const out = new Array<string | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = this.#live(keys[i]!, now)?.json;
    return out;
  }

  protected _set(key: string, json: string, ttlMs: number | undefined): void {
    // The clock is read only for a TTL: a plain set needs no time.
    this.#write(key, json, ttlMs === undefined ? NO_DEADLINE : this.#clock.now() + ttlMs, ttlMs);
  }

  protected _mset(entries: Map<string, string>, ttlMs: number | undefined): void {
    const deadline = ttlMs === undefined ? NO_DEADLINE : this.#clock.now() + ttlMs;
    for (const [key, json] of entries) this.#write(key, json, deadline, ttlMs);
  }

  protected _delete(key: string): boolean {
    return this.#remove(key);
  }

  protected _listAppend(key: string, append: PreparedAppend): unknown[] {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    const plan = planListAppend("listAppendUnique", key, entry?.json, append, this.maxValueBytes);
    // An empty call on a missing key stores nothing (SPEC.md "Lists").
    if (plan.text === undefined) return [];
    const deadline = keepOrSetDeadline(entry?.deadline, now, append.ttlMs);
    this.#write(key, plan.text, deadline, append.ttlMs);
    return plan.list;
  }

  protected _listPop(key: string): unknown[] {
    const entry = this.#live(key);
    if (entry === undefined) return [];
    const list = decodeList("listPopAll", key, entry.json);
    this.#remove(key);
    return list;
  }

  protected _expire(key: string, ttlMs: number): boolean {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry === undefined) return false;
    entry.deadline = now + ttlMs;
    this.#expiry.schedule(entry, ttlMs);
    return true;
  }

  protected _purgeExpired(limit: number): number {
    const now = this.#clock.now();
    let removed = 0;
    while (removed < limit) {
      const entry = this.#expiry.takeExpired(now);
      if (entry === undefined) break;
      this.#map.delete(entry.key);
      removed++;
    }
    return removed;
  }

  protected override _exists(key: string): boolean {
    return this.#live(key) !== undefined;
  }

  protected _ttl(key: string): number | undefined {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry === undefined) return undefined;
    return entry.deadline === NO_DEADLINE ? NO_DEADLINE : Math.ceil(entry.deadline - now);
  }

  protected _incr(key: string, amount: number, ttlMs: number | undefined): number {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    const current = entry === undefined ? undefined : JSON.parse(entry.json);
    const next = incremented("incr", key, current, amount);
    this.#write(key, String(next), keepOrSetDeadline(entry?.deadline, now, ttlMs), ttlMs);
    return next;
  }

  /**
   * O(n log n): the Map is in insertion order, so the matching keys are collected and
   * sorted on each call. Fine for the "list a namespace" use it has; a store that scans
   * big namespaces often wants a sorted index, which would tax every write instead.
   */
  protected _scanPrefix(scan: ResolvedScan): string[] {
    const now = this.#clock.now();
    const keys: string[] = [];
    for (const entry of this.#map.values()) {
      const { key } = entry;
      if (!key.startsWith(scan.prefix) || now >= entry.deadline) continue;
      if (scan.after !== undefined && key <= scan.after) continue;
      keys.push(key);
    }
    // The default sort compares UTF-16 code units, the order SPEC.md asks for.
    keys.sort();
    return keys.length > scan.limit ? keys.slice(0, scan.limit) : keys;
  }

  protected override _close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#map.clear();
    this.#expiry.clear();
  }

  /** The entry of a live key; an expired one is left for the purge. */
  #live(key: string, now?: number): Entry | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.deadline === NO_DEADLINE) return entry;
    return (now ?? this.#clock.now()) >= entry.deadline ? undefined : entry;
  }

  /**
   * Stores `json` under `key` until `deadline`, replacing whatever was there (expired or
   * not). A new deadline was set `ttlMs` from now; a deadline the entry already has
   * (kept by an in-place change) leaves the index alone.
   */
  #write(key: string, json: string, deadline: number, ttlMs: number | undefined): void {
    let entry = this.#map.get(key);
    if (entry === undefined) {
      entry = { key, json, deadline: NO_DEADLINE, indexed: false };
      this.#map.set(key, entry);
    } else {
      // Reusing the entry object spares an allocation on every overwrite.
      entry.json = json;
    }
    if (entry.deadline === deadline) return;
    entry.deadline = deadline;
    if (ttlMs === undefined) this.#expiry.unschedule(entry);
    else this.#expiry.schedule(entry, ttlMs);
  }

  /** Removes whatever is stored under `key`; true if it was live. */
  #remove(key: string): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#map.delete(key);
    this.#expiry.unschedule(entry);
    return entry.deadline === NO_DEADLINE || this.#clock.now() < entry.deadline;
  }
}
