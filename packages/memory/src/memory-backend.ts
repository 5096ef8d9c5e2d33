import {
  assertKey,
  assertKeys,
  type Clock,
  closedError,
  DEFAULT_PURGE_LIMIT,
  decodeList,
  type Entries,
  encodeEntries,
  encodeValue,
  incremented,
  invalidArgument,
  type JsonValue,
  type KVBackend,
  type ListAppendOptions,
  NO_DEADLINE,
  planListAppend,
  prepareListAppend,
  resolveAmount,
  resolveLimit,
  resolveMaxValueBytes,
  resolveScan,
  type ScanOptions,
  secondsLeft,
  systemClock,
  type TtlOption,
  ttlFromOptions,
  ttlToMs,
} from "@kv/core";
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
export class MemoryBackend implements KVBackend {
  readonly #map = new Map<string, Entry>();
  readonly #expiry = new ExpiryIndex<Entry>();
  readonly #clock: Clock;
  readonly #maxValueBytes: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw invalidArgument("MemoryBackend", "options must be an object", options);
    }
    this.#clock = options.clock ?? systemClock;
    this.#maxValueBytes = resolveMaxValueBytes("MemoryBackend", options.maxValueBytes);
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
      this.#timer = setInterval(() => this.#purge(batch), Math.min(ms, MAX_TIMER_MS));
      this.#timer.unref();
    }
  }

  /** Number of stored entries, expired ones not yet purged included. */
  get size(): number {
    return this.#map.size;
  }

  async get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined> {
    this.#open("get");
    assertKey("get", key);
    const entry = this.#live(key);
    return entry === undefined ? defaultValue : (JSON.parse(entry.json) as T);
  }

  async set(key: string, value: JsonValue, options?: TtlOption): Promise<void> {
    this.#open("set");
    assertKey("set", key);
    const ttlMs = ttlFromOptions("set", options);
    const json = encodeValue("set", value, this.#maxValueBytes);
    // The clock is read only for a TTL: a plain set needs no time.
    this.#write(key, json, ttlMs === undefined ? NO_DEADLINE : this.#clock.now() + ttlMs, ttlMs);
  }

  async delete(key: string): Promise<boolean> {
    this.#open("delete");
    assertKey("delete", key);
    return this.#remove(key);
  }

  async listAppendUnique<T extends object>(
    key: string,
    items: T[],
    options?: ListAppendOptions,
  ): Promise<T[]> {
    this.#open("listAppendUnique");
    assertKey("listAppendUnique", key);
    const append = prepareListAppend("listAppendUnique", items, options);
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    const plan = planListAppend("listAppendUnique", key, entry?.json, append, this.#maxValueBytes);
    // An empty call on a missing key stores nothing (SPEC.md "Lists").
    if (plan.text === undefined) return [];
    // In place: a TTL passed sets the deadline, none keeps the one the list had.
    const deadline =
      append.ttlMs === undefined ? (entry?.deadline ?? NO_DEADLINE) : now + append.ttlMs;
    this.#write(key, plan.text, deadline, append.ttlMs);
    return plan.list as T[];
  }

  async listPopAll<T = JsonValue>(key: string): Promise<T[]> {
    this.#open("listPopAll");
    assertKey("listPopAll", key);
    const entry = this.#live(key);
    if (entry === undefined) return [];
    const list = decodeList("listPopAll", key, entry.json);
    this.#remove(key);
    return list as T[];
  }

  async mget<T = JsonValue>(keys: string[]): Promise<(T | undefined)[]> {
    this.#open("mget");
    assertKeys("mget", keys);
    const now = this.#clock.now();
    const out = new Array<T | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const entry = this.#live(keys[i]!, now);
      out[i] = entry === undefined ? undefined : (JSON.parse(entry.json) as T);
    }
    return out;
  }

  async mset(entries: Entries, options?: TtlOption): Promise<void> {
    this.#open("mset");
    const ttlMs = ttlFromOptions("mset", options);
    // Every pair is checked and encoded before the first write: all or nothing.
    const encoded = encodeEntries("mset", entries, this.#maxValueBytes);
    const deadline = ttlMs === undefined ? NO_DEADLINE : this.#clock.now() + ttlMs;
    for (const [key, json] of encoded) this.#write(key, json, deadline, ttlMs);
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    this.#open("expire");
    assertKey("expire", key);
    const ttlMs = ttlToMs("expire", ttlSeconds);
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry === undefined) return false;
    entry.deadline = now + ttlMs;
    this.#expiry.schedule(entry, ttlMs);
    return true;
  }

  async purgeExpired(limit?: number): Promise<number> {
    this.#open("purgeExpired");
    return this.#purge(resolveLimit("purgeExpired", limit, DEFAULT_PURGE_LIMIT));
  }

  async exists(key: string): Promise<boolean> {
    this.#open("exists");
    assertKey("exists", key);
    return this.#live(key) !== undefined;
  }

  async ttl(key: string): Promise<number | undefined> {
    this.#open("ttl");
    assertKey("ttl", key);
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    return entry === undefined ? undefined : secondsLeft(entry.deadline, now);
  }

  async incr(key: string, amount?: number, options?: TtlOption): Promise<number> {
    this.#open("incr");
    assertKey("incr", key);
    const by = resolveAmount("incr", amount);
    const ttlMs = ttlFromOptions("incr", options);
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    const next = incremented(
      "incr",
      key,
      entry === undefined ? undefined : JSON.parse(entry.json),
      by,
    );
    const deadline = ttlMs === undefined ? (entry?.deadline ?? NO_DEADLINE) : now + ttlMs;
    this.#write(key, String(next), deadline, ttlMs);
    return next;
  }

  /**
   * O(n log n): the Map is in insertion order, so the matching keys are collected and
   * sorted on each call. Fine for the "list a namespace" use it has; a store that scans
   * big namespaces often wants a sorted index, which would tax every write instead.
   */
  async scanPrefix(prefix: string, options?: ScanOptions): Promise<string[]> {
    this.#open("scanPrefix");
    const scan = resolveScan("scanPrefix", prefix, options);
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

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#map.clear();
    this.#expiry.clear();
  }

  #open(method: string): void {
    if (this.#closed) throw closedError(method);
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

  #purge(limit: number): number {
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
}
