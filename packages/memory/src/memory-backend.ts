import {
  type Clock,
  decodeList,
  ExpiryIndex,
  incremented,
  invalidArgument,
  KVStore,
  keepOrSetDeadline,
  NO_DEADLINE,
  OrderedKeys,
  type PreparedAppend,
  PURGE_SLICE_BATCH,
  type PurgeOptions,
  PurgeScheduler,
  planListAppend,
  type ResolvedScan,
  resolveLimit,
  resolvePurgeOptions,
  systemClock,
} from "@kv/core/adapter";

export interface MemoryBackendOptions extends PurgeOptions {
  /** Where TTLs read the time (milliseconds). Default: a monotonic system clock. */
  clock?: Clock;
  /** The largest value, as UTF-8 bytes of JSON. Default 1 MiB. */
  maxValueBytes?: number;
  /** Expired entries one purge call of a background slice removes. Default 128. */
  purgeBatchSize?: number;
}

/** One stored key. `json` is the value's JSON text: each read parses a fresh copy. */
interface Entry {
  readonly key: string;
  json: string;
  /**
   * Expired from the instant `now >= deadline`; `NO_DEADLINE` (Infinity) for no TTL;
   * `REMOVED` once the entry has left the store, so no expiry-index node matches it.
   */
  deadline: number;
}

/** The deadline of an entry no longer in the store: equal to nothing, not even itself. */
const REMOVED = Number.NaN;

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
 * removed by `purgeExpired`, by the background purge rounds, by writes that help (each
 * write with a TTL removes up to two expired entries: see core's `PurgeScheduler`), or
 * when a write replaces or deletes its key. All of them take entries from the expiry
 * index (core's `ExpiryIndex`), soonest first, at a cost in proportion to what they
 * remove, not to the store's size. Under an injected clock only `purgeExpired` and
 * writes to the key itself remove anything, unless `purgeIntervalSeconds` or
 * `purgeOnWrite` ask for more, so a test counts exactly what it expired.
 *
 * ## Scans
 * `scanPrefix` walks core's `OrderedKeys`, the entries in key order, built at the first
 * scan and kept from then on (a new key costs a push onto a buffer merged at the next
 * scan; when new keys outrun scans it is dropped until the next one): O(log n + limit)
 * per page. A store that never scans pays nothing for it, and an overwrite never does.
 */
export class MemoryBackend extends KVStore {
  readonly #map = new Map<string, Entry>();
  readonly #expiry = new ExpiryIndex<Entry>((entry, deadline) => entry.deadline === deadline);
  /**
   * The entries in key order, for scans: dormant (free) until the first scan. It holds
   * the entry objects, so a scan reads each entry's deadline without a map lookup; an
   * entry that left the store has the deadline `REMOVED` (NaN): not live, not present.
   */
  readonly #keys = new OrderedKeys<Entry>({
    present: (entry) => !Number.isNaN(entry.deadline),
    held: () => this.#map.size,
    source: () => this.#map.keys(),
    resolve: (key) => this.#map.get(key),
    keyOf: (entry) => entry.key,
  });
  readonly #clock: Clock;
  /** Expired entries a write with a TTL removes (0: writes do not help). */
  readonly #assist: number;
  readonly #purger: PurgeScheduler;

  constructor(options: MemoryBackendOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw invalidArgument("MemoryBackend", "options must be an object", options);
    }
    // Every write goes through this object: a write that fills a list hands it straight
    // to a waiting `listPopAll`.
    super({ name: "MemoryBackend", maxValueBytes: options.maxValueBytes, wakeups: "own-writes" });
    this.#clock = options.clock ?? systemClock;
    const purge = resolvePurgeOptions("MemoryBackend", options);
    const batch = resolveLimit(
      "MemoryBackend",
      options.purgeBatchSize,
      PURGE_SLICE_BATCH,
      "purgeBatchSize",
    );
    this.#assist = purge.assist;
    this.#purger = new PurgeScheduler({
      purge: (limit) => this.#purgeAt(this.#clock.now(), limit),
      intervalMs: purge.intervalMs,
      batch,
    });
  }

  /** Number of stored entries, expired ones not yet purged included. */
  get size(): number {
    return this.#map.size;
  }

  /** The background purge: `runRound()` purges now, as a background round would. */
  get purger(): PurgeScheduler {
    return this.#purger;
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
    if (ttlMs === undefined) {
      this.#write(key, json, NO_DEADLINE, undefined);
      return;
    }
    const now = this.#clock.now();
    this.#write(key, json, now + ttlMs, ttlMs);
    this.#help(now, 1);
  }

  protected _mset(entries: Map<string, string>, ttlMs: number | undefined): void {
    if (ttlMs === undefined) {
      for (const [key, json] of entries) this.#write(key, json, NO_DEADLINE, undefined);
      return;
    }
    const now = this.#clock.now();
    const deadline = now + ttlMs;
    for (const [key, json] of entries) this.#write(key, json, deadline, ttlMs);
    this.#help(now, entries.size);
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
    if (append.ttlMs !== undefined) this.#help(now, 1);
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
    this.#write(key, entry.json, now + ttlMs, ttlMs);
    this.#help(now, 1);
    return true;
  }

  protected _purgeExpired(limit: number): number {
    return this.#purgeAt(this.#clock.now(), limit);
  }

  /** A namespaced view's purge: the expired entries among the prefix's keys, in key order. */
  protected override _purgeExpiredPrefix(prefix: string, limit: number): number {
    const now = this.#clock.now();
    const expired = this.#keys.scan(
      { prefix, limit, after: undefined },
      (entry) => now >= entry.deadline, // a removed entry's NaN deadline never is
    );
    for (const key of expired) {
      const entry = this.#map.get(key)!;
      entry.deadline = REMOVED;
      this.#map.delete(key);
    }
    return expired.length;
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
    if (ttlMs !== undefined) this.#help(now, 1);
    return next;
  }

  /** O(log n + limit) on the ordered index (built by the first scan). */
  protected _scanPrefix(scan: ResolvedScan): string[] {
    const now = this.#clock.now();
    return this.#keys.scan(scan, (entry) => now < entry.deadline);
  }

  protected override _close(): void {
    this.#purger.close();
    this.#map.clear();
    this.#expiry.clear();
    this.#keys.clear();
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
   * not). A new deadline was set `ttlMs` from now and goes into the expiry index; a
   * deadline the entry already has (kept by an in-place change) leaves it alone.
   */
  #write(key: string, json: string, deadline: number, ttlMs: number | undefined): void {
    const map = this.#map;
    let entry = map.get(key);
    if (entry === undefined) {
      entry = { key, json, deadline };
      map.set(key, entry);
      this.#keys.add(key);
    } else {
      // Reusing the entry object spares an allocation on every overwrite. A changed
      // deadline leaves the old index node stale.
      entry.json = json;
      if (entry.deadline === deadline) return;
      entry.deadline = deadline;
    }
    if (ttlMs !== undefined) this.#expiry.add(entry, deadline, ttlMs, map.size);
  }

  /** Writes help the purge: `writes` expiring entries written, up to `#assist` each removed. */
  #help(now: number, writes: number): void {
    if (this.#assist !== 0 && this.#expiry.nextDeadline() <= now) {
      this.#purgeAt(now, this.#assist * writes);
    }
  }

  /** Removes up to `limit` expired entries, soonest deadline first; returns how many. */
  #purgeAt(now: number, limit: number): number {
    const map = this.#map;
    const expiry = this.#expiry;
    let removed = 0;
    while (removed < limit) {
      const entry = expiry.takeExpired(now);
      if (entry === undefined) break;
      entry.deadline = REMOVED;
      map.delete(entry.key);
      removed++;
    }
    return removed;
  }

  /** Removes whatever is stored under `key`; true if it was live. */
  #remove(key: string): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#map.delete(key);
    const live = entry.deadline === NO_DEADLINE || this.#clock.now() < entry.deadline;
    entry.deadline = REMOVED;
    return live;
  }
}
