import { invalidArgument } from "@kv/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import { ClusterTracker, NodeTracker, type Tracker, type TrackingEvents } from "./tracking.js";

const WHERE = "nearCache";

/**
 * Clients some near cache tracks: a second one would redirect the first one's
 * invalidations to itself (a connection has one `CLIENT TRACKING` redirect).
 */
const attached = new WeakSet<object>();

/** Entries older than this are read again from the server, whatever tracking says. */
export const DEFAULT_MAX_STALENESS_MS = 2000;

export interface NearCacheOptions {
  /** At most this many keys (a positive integer). */
  max: number;
  /** At most this many bytes: UTF-8 of the keys and JSON texts (a positive integer). */
  maxBytes?: number;
  /**
   * The hard staleness bound, in ms: an entry is never served once this long has passed
   * since the read that filled it was sent, tracking or not. Default 2000.
   */
  maxStalenessMs?: number;
}

/**
 * One key as the server had it: its JSON text (`null`: missing) and what `PTTL` said
 * (-2 missing, -1 no TTL, else whole ms left). From the cache, `pttl` counts down to the
 * entry's deadline, which was counted from when the filling read was sent: it may be a
 * little short (by the time the read took to reach the server), never long. So the key
 * never lives less than a TTL read says (though a read straight from the server right
 * after may say a millisecond or two more).
 */
export interface KeyRead {
  text: string | null;
  pttl: number;
}

export interface NearCacheStats {
  /** Reads answered from the cache. */
  hits: number;
  /** Reads that went to the server while tracking was up (and may have filled the cache). */
  misses: number;
  /** Reads that went to the server while tracking was down: nothing was cached. */
  bypassed: number;
  /** Keys the server invalidated (an entry present or not), plus one per flush message. */
  invalidations: number;
  /** Times the cache was emptied: tracking lost or (re)armed, FLUSHALL/FLUSHDB, `flush()`. */
  flushes: number;
}

interface Entry {
  text: string | null;
  /**
   * `performance.now()` from which the entry is not served: the key's deadline counted from
   * when the filling read was sent, so never later than the server's (Infinity: no TTL).
   */
  deadline: number;
  /** `performance.now()` after which the entry is no longer served (maxStalenessMs). */
  staleAt: number;
}

interface Pending {
  /** Loads of this key in flight. */
  count: number;
  /** `#seq` of the last invalidation of this key while loads were in flight. */
  invalidated: number;
}

/**
 * Recent reads of one Redis client kept in the process, invalidated by the server
 * (`CLIENT TRACKING`, see tracking.ts). See index.ts for how a backend uses it.
 */
export class NearCache {
  readonly maxStalenessMs: number;
  readonly stats: NearCacheStats = {
    hits: 0,
    misses: 0,
    bypassed: 0,
    invalidations: 0,
    flushes: 0,
  };
  readonly #lru: LRUCache<string, Entry>;
  /** Keys with loads in flight, and whether the server invalidated them meanwhile. */
  readonly #pending = new Map<string, Pending>();
  /** Ticks on every invalidation and flush: a load may fill the cache only if none hit it. */
  #seq = 0;
  /** `#seq` of the last flush. */
  #flushedAt = 0;
  #tracker: Tracker | undefined;
  #client: Redis | Cluster | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly #events: TrackingEvents = {
    changed: () => this.#trackingChanged(),
    invalidate: (keys) => {
      for (const key of keys) this.#drop(key);
      this.stats.invalidations += keys.length;
    },
    invalidateAll: () => {
      this.stats.invalidations++;
      this.flush();
    },
  };

  constructor(options: NearCacheOptions) {
    if (typeof options !== "object" || options === null) {
      throw invalidArgument(WHERE, "options must be an object { max, maxBytes? }", options);
    }
    const { max, maxBytes, maxStalenessMs = DEFAULT_MAX_STALENESS_MS } = options;
    if (!Number.isSafeInteger(max) || max <= 0) {
      throw invalidArgument(WHERE, "max must be a positive integer", max);
    }
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)) {
      throw invalidArgument(WHERE, "maxBytes must be a positive integer", maxBytes);
    }
    if (!Number.isFinite(maxStalenessMs) || maxStalenessMs <= 0) {
      throw invalidArgument(WHERE, "maxStalenessMs must be a finite number > 0", maxStalenessMs);
    }
    this.maxStalenessMs = maxStalenessMs;
    this.#lru =
      maxBytes === undefined
        ? new LRUCache<string, Entry>({ max })
        : new LRUCache<string, Entry>({
            max,
            maxSize: maxBytes,
            sizeCalculation: (entry, key) =>
              Buffer.byteLength(key) + (entry.text === null ? 1 : Buffer.byteLength(entry.text)),
          });
  }

  /**
   * Starts tracking on `client` (the connection(s) the loads are sent on). Until the server
   * acknowledged it, and whenever a connection of it is down, reads bypass the cache.
   */
  attach(client: Redis | Cluster): void {
    if (this.#closed) return;
    if (this.#tracker !== undefined) throw new Error(`${WHERE}: attach() was called already`);
    if (attached.has(client)) {
      throw invalidArgument(
        WHERE,
        "the client is tracked by another near cache already (one near cache per client)",
        client.isCluster ? "a Cluster" : "a Redis client",
      );
    }
    attached.add(client);
    this.#client = client;
    this.#tracker = client.isCluster
      ? new ClusterTracker(client as Cluster, this.#events)
      : new NodeTracker(client as Redis, this.#events);
  }

  /** True while tracking is up: reads may be answered from the cache. */
  get tracking(): boolean {
    return !this.#closed && this.#tracker?.up === true;
  }

  /** Entries held, and their size in bytes when `maxBytes` is set (else 0). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize ?? 0 };
  }

  /** Resolves true once tracking is up, false after `timeoutMs` or on close. */
  whenTracking(timeoutMs: number): Promise<boolean> {
    if (this.tracking) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.tracking);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(done);
    });
  }

  /** The cached read of `key`, or `undefined` (missing, expired, too old, or bypassed). */
  peek(key: string): KeyRead | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    const now = performance.now();
    if (now >= entry.staleAt || now >= entry.deadline) {
      this.#lru.delete(key);
      return undefined;
    }
    this.stats.hits++;
    let pttl: number;
    if (entry.deadline === Number.POSITIVE_INFINITY) pttl = entry.text === null ? -2 : -1;
    else pttl = Math.floor(entry.deadline - now);
    return { text: entry.text, pttl };
  }

  /**
   * `key` from the cache, or from `load` (one round trip to the server that reads its text
   * and `PTTL`, e.g. `readWithTtl`), whose answer fills the cache unless the server
   * invalidated the key (or tracking changed) while it was in flight.
   */
  async read(key: string, load: () => Promise<KeyRead>): Promise<KeyRead> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    if (!this.tracking) {
      this.stats.bypassed++;
      return load();
    }
    this.stats.misses++;
    const since = this.#seq;
    const sentAt = performance.now();
    this.#begin(key);
    try {
      const read = await load();
      this.#fill(key, read, since, sentAt);
      return read;
    } finally {
      this.#end(key);
    }
  }

  /**
   * `keys` (repeats allowed), in order: the cached ones from the cache, the others from one
   * `load(missing)` call (each missing key once, answers in the same order).
   */
  async readMany(
    keys: readonly string[],
    load: (missing: string[]) => Promise<KeyRead[]>,
  ): Promise<KeyRead[]> {
    const out = new Array<KeyRead>(keys.length);
    const missing: string[] = [];
    const slots = new Map<string, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const waiting = slots.get(key);
      if (waiting !== undefined) {
        waiting.push(i);
        continue;
      }
      const hit = this.peek(key);
      if (hit !== undefined) {
        out[i] = hit;
      } else {
        slots.set(key, [i]);
        missing.push(key);
      }
    }
    if (missing.length === 0) return out;
    const tracking = this.tracking;
    if (tracking) this.stats.misses += missing.length;
    else this.stats.bypassed += missing.length;
    const since = this.#seq;
    const sentAt = performance.now();
    if (tracking) for (const key of missing) this.#begin(key);
    try {
      const reads = await load(missing);
      for (let j = 0; j < missing.length; j++) {
        const key = missing[j]!;
        const read = reads[j]!;
        if (tracking) this.#fill(key, read, since, sentAt);
        for (const i of slots.get(key)!) out[i] = { text: read.text, pttl: read.pttl };
      }
      return out;
    } finally {
      if (tracking) for (const key of missing) this.#end(key);
    }
  }

  /**
   * This client wrote (or may have written) `keys`: drops them, and keeps any read of them
   * in flight from filling the cache. Call it when the write settles, before it resolves or
   * rejects: the next read goes to the server and sees the write (read-your-writes). Not
   * needed after a call that certainly had no effect (SPEC: KV_INVALID_ARGUMENT,
   * KV_WRONG_TYPE, KV_VALUE_TOO_LARGE, KV_CLOSED). The written value is not cached: a
   * write does not track the key, so no invalidation would come for it.
   */
  onWrite(keys: string | Iterable<string>): void {
    if (typeof keys === "string") this.#drop(keys);
    else for (const key of keys) this.#drop(key);
  }

  /** Drops `key` (and voids reads of it in flight). */
  invalidate(key: string): void {
    this.#drop(key);
  }

  /** Drops everything (and voids every read in flight). */
  flush(): void {
    this.#flushedAt = ++this.#seq;
    this.stats.flushes++;
    this.#lru.clear();
  }

  /** Stops tracking (`CLIENT TRACKING OFF` on a connected client) and drops everything. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.flush();
    const tracker = this.#tracker;
    this.#tracker = undefined;
    if (this.#client !== undefined) attached.delete(this.#client);
    for (const wake of this.#waiters.splice(0)) wake();
    await tracker?.close();
  }

  // ---------------------------------------------------------------------------------

  #trackingChanged(): void {
    // Down: what is cached may miss invalidations from now on. Up: start clean (reads that
    // straddled the change are voided by the flush too).
    this.flush();
    if (this.tracking) for (const wake of this.#waiters.splice(0)) wake();
  }

  #drop(key: string): void {
    this.#lru.delete(key);
    const pending = this.#pending.get(key);
    if (pending !== undefined) pending.invalidated = ++this.#seq;
  }

  #begin(key: string): void {
    const pending = this.#pending.get(key);
    if (pending === undefined) this.#pending.set(key, { count: 1, invalidated: 0 });
    else pending.count++;
  }

  #end(key: string): void {
    const pending = this.#pending.get(key)!;
    if (--pending.count === 0) this.#pending.delete(key);
  }

  /** Caches `read` of `key`, loaded since `#seq` was `since`, if nothing voided it. */
  #fill(key: string, read: KeyRead, since: number, sentAt: number): void {
    if (!this.tracking || this.#flushedAt > since) return;
    if (this.#pending.get(key)!.invalidated > since) return;
    const { text, pttl } = read;
    let deadline: number;
    if (text === null) {
      if (pttl !== -2) return; // created between GET and PTTL: not a consistent pair
      deadline = Number.POSITIVE_INFINITY;
    } else if (pttl === -1) {
      deadline = Number.POSITIVE_INFINITY;
    } else if (pttl >= 0) {
      // The server's deadline is at least `PTTL` after it ran the read, which was after
      // `sentAt`: counting from `sentAt` can only end early.
      deadline = sentAt + pttl;
    } else {
      return; // expired or deleted between GET and PTTL
    }
    const staleAt = sentAt + this.maxStalenessMs;
    if (performance.now() >= Math.min(deadline, staleAt)) return;
    this.#lru.set(key, { text, deadline, staleAt });
  }
}
