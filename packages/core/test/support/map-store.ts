import {
  decodeList,
  incremented,
  KVStore,
  keepOrSetDeadline,
  NO_DEADLINE,
  type PreparedAppend,
  planListAppend,
  type ResolvedScan,
} from "../../src/adapter/index.js";
import type { Clock } from "../../src/clock.js";

interface Entry {
  json: string;
  deadline: number;
}

export interface MapStoreOptions {
  clock: Clock;
  maxValueBytes?: number;
  /**
   * `true`: every operation that touches an expired key drops it (the reference's lazy
   * expiry), so purgeExpired no longer counts it. `false`: only purgeExpired removes
   * an expired entry, and writes replace it.
   */
  lazy: boolean;
}

/**
 * The smallest honest adapter: a Map on core's front door, with a purge that walks the
 * whole Map (O(n): exact, but what the suite's scaling check must catch). It exists to
 * test the conformance suite itself, with and without lazy expiry.
 */
export class MapStore extends KVStore {
  readonly #map = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #lazy: boolean;

  constructor(options: MapStoreOptions) {
    super({ name: "MapStore", maxValueBytes: options.maxValueBytes, wakeups: "own-writes" });
    this.#clock = options.clock;
    this.#lazy = options.lazy;
  }

  /** The live entry of `key`; an expired one is dropped here when lazy. */
  #live(key: string): Entry | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined || this.#clock.now() < entry.deadline) return entry;
    if (this.#lazy) this.#map.delete(key);
    return undefined;
  }

  protected _get(key: string) {
    return this.#live(key)?.json;
  }
  protected _set(key: string, json: string, ttlMs: number | undefined) {
    const deadline = ttlMs === undefined ? NO_DEADLINE : this.#clock.now() + ttlMs;
    this.#map.delete(key); // a rewrite moves the key to the end, like a fresh insert
    this.#map.set(key, { json, deadline });
  }
  protected _mset(entries: Map<string, string>, ttlMs: number | undefined) {
    for (const [key, json] of entries) this._set(key, json, ttlMs);
  }
  protected _delete(key: string) {
    // Not lazy: an expired entry is not the caller's to delete; it stays for the purge.
    return this.#live(key) !== undefined && this.#map.delete(key);
  }
  protected _listAppend(key: string, append: PreparedAppend) {
    const entry = this.#live(key);
    const plan = planListAppend("listAppendUnique", key, entry?.json, append, this.maxValueBytes);
    if (plan.text === undefined) return [];
    const deadline = keepOrSetDeadline(entry?.deadline, this.#clock.now(), append.ttlMs);
    this.#map.set(key, { json: plan.text, deadline });
    return plan.list;
  }
  protected _listPop(key: string) {
    const entry = this.#live(key);
    if (entry === undefined) return [];
    const list = decodeList("listPopAll", key, entry.json); // KV_WRONG_TYPE keeps the value
    this.#map.delete(key);
    return list;
  }
  protected _expire(key: string, ttlMs: number) {
    const entry = this.#live(key);
    if (entry !== undefined) entry.deadline = this.#clock.now() + ttlMs;
    return entry !== undefined;
  }
  protected _purgeExpired(limit: number) {
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
  protected _scanPrefix(scan: ResolvedScan) {
    const keys = [...this.#map.keys()]
      .filter(
        (key) => key.startsWith(scan.prefix) && (scan.after === undefined || key > scan.after),
      )
      .filter((key) => this.#live(key) !== undefined)
      .sort();
    return keys.slice(0, scan.limit);
  }
}
