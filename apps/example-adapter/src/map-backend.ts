// The smallest complete backend: a Map of JSON text under core's front door. It is the
// example of @kv/core's README ("Writing a backend"), kept here so that it runs the
// whole conformance suite (test/map-backend.test.ts). Expired entries are dropped when
// an operation touches their key (lazy expiry) or by purgeExpired.
import {
  type Clock,
  decodeList,
  incremented,
  KVStore,
  keepOrSetDeadline,
  NO_DEADLINE,
  type PreparedAppend,
  planListAppend,
  type ResolvedScan,
  systemClock,
} from "@kv/core/adapter";

interface Entry {
  json: string;
  deadline: number; // NO_DEADLINE (Infinity) when the key has no TTL
}

export class MapBackend extends KVStore {
  readonly #map = new Map<string, Entry>();
  readonly #clock: Clock;

  constructor(options: { clock?: Clock; maxValueBytes?: number } = {}) {
    // Every write passes through this object: a write that fills a list wakes a waiter.
    super({ maxValueBytes: options.maxValueBytes, wakeups: "own-writes" });
    this.#clock = options.clock ?? systemClock;
  }

  // Each method runs without an await: nothing can interleave, so each call is atomic.

  #live(key: string): Entry | undefined {
    const entry = this.#map.get(key);
    if (entry !== undefined && this.#clock.now() >= entry.deadline) {
      this.#map.delete(key); // lazy expiry
      return undefined;
    }
    return entry;
  }

  #deadline(ttlMs: number | undefined): number {
    return ttlMs === undefined ? NO_DEADLINE : this.#clock.now() + ttlMs;
  }

  protected _get(key: string) {
    return this.#live(key)?.json;
  }

  protected _set(key: string, json: string, ttlMs: number | undefined) {
    this.#map.set(key, { json, deadline: this.#deadline(ttlMs) });
  }

  protected _mset(entries: Map<string, string>, ttlMs: number | undefined) {
    const deadline = this.#deadline(ttlMs);
    for (const [key, json] of entries) this.#map.set(key, { json, deadline });
  }

  protected _delete(key: string) {
    return this.#live(key) !== undefined && this.#map.delete(key);
  }

  protected _listAppend(key: string, append: PreparedAppend) {
    const entry = this.#live(key);
    const plan = planListAppend("listAppendUnique", key, entry?.json, append, this.maxValueBytes);
    if (plan.text === undefined) return [];
    const now = this.#clock.now();
    this.#map.set(key, {
      json: plan.text,
      deadline: keepOrSetDeadline(entry?.deadline, now, append.ttlMs),
    });
    return plan.list;
  }

  protected _listPop(key: string) {
    const entry = this.#live(key);
    if (entry === undefined) return [];
    const list = decodeList("listPopAll", key, entry.json);
    this.#map.delete(key);
    return list;
  }

  protected _expire(key: string, ttlMs: number) {
    const entry = this.#live(key);
    if (entry !== undefined) entry.deadline = this.#deadline(ttlMs);
    return entry !== undefined;
  }

  protected _purgeExpired(limit: number) {
    // O(n): fine for an example. A real store keeps an expiry index (see @kv/memory).
    let removed = 0;
    const now = this.#clock.now();
    for (const [key, entry] of this.#map) {
      if (removed === limit) break;
      if (now >= entry.deadline && this.#map.delete(key)) removed++;
    }
    return removed;
  }

  protected _ttl(key: string) {
    const entry = this.#live(key);
    if (entry === undefined) return undefined;
    return entry.deadline === NO_DEADLINE ? NO_DEADLINE : entry.deadline - this.#clock.now();
  }

  protected _incr(key: string, amount: number, ttlMs: number | undefined) {
    const entry = this.#live(key);
    const next = incremented("incr", key, entry && JSON.parse(entry.json), amount);
    const deadline = keepOrSetDeadline(entry?.deadline, this.#clock.now(), ttlMs);
    this.#map.set(key, { json: String(next), deadline });
    return next;
  }

  protected _scanPrefix({ prefix, after, limit }: ResolvedScan) {
    const keys = [...this.#map.keys()].filter(
      (key) => key.startsWith(prefix) && (after === undefined || key > after) && this.#live(key),
    );
    return keys.sort().slice(0, limit); // sort(): UTF-16 code-unit order, as SPEC.md asks
  }
}
