/** Any value that survives `JSON.parse(JSON.stringify(v))` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface TtlOption {
  /** Time to live in seconds (fractional allowed, rounded up to whole milliseconds). */
  ttlSeconds?: number;
}

export interface ListAppendOptions extends TtlOption {
  /** The field of each item that identifies it (default `"id"`). */
  idKey?: string;
}

export interface ScanOptions {
  /** At most this many keys (default 1000). */
  limit?: number;
  /** Only keys strictly after this one, in code-unit order: pass the last key of a page. */
  after?: string;
}

export interface PopOptions {
  /**
   * Wait up to this many seconds (finite, > 0) for the key to hold a non-empty list, then
   * pop it; `[]` when the time passes first. Without it, `listPopAll` does not wait.
   */
  waitSeconds?: number;
  /** Aborts the wait: the call rejects with the signal's reason and pops nothing. */
  signal?: AbortSignal;
}

/** Key-value pairs for `mset`: a record, a `Map`, or any iterable of `[key, value]` pairs. */
export type Entries = Record<string, JsonValue> | Iterable<readonly [string, JsonValue]>;

/**
 * The contract every backend keeps (SPEC.md). All methods are async and atomic; TTLs are
 * in seconds. Errors are `KVError`s with a `code`.
 */
export interface KVBackend {
  /** The stored value, or `defaultValue` when the key is missing or expired. */
  get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined>;
  /** Replaces the value; without `ttlSeconds` the key has no TTL (an earlier one is cleared). */
  set(key: string, value: JsonValue, options?: TtlOption): Promise<void>;
  /** Removes the key; `true` if a live key was removed. */
  delete(key: string): Promise<boolean>;
  /** Appends the items whose `idKey` is not in the list yet; returns the whole updated list. */
  listAppendUnique<T extends object>(
    key: string,
    items: T[],
    options?: ListAppendOptions,
  ): Promise<T[]>;
  /**
   * Returns the list and deletes the key in one atomic step; `[]` when missing. With
   * `waitSeconds`, first waits (without polling) until the key holds a non-empty list.
   */
  listPopAll<T = JsonValue>(key: string, options?: PopOptions): Promise<T[]>;
  /** One slot per key, in order; `undefined` for missing or expired keys. */
  mget<T = JsonValue>(keys: string[]): Promise<(T | undefined)[]>;
  /** Writes every entry with the one shared TTL; all or nothing. */
  mset(entries: Entries, options?: TtlOption): Promise<void>;
  /** Gives a live key a new TTL counted from now; `false` if missing or expired. */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  /** Removes at most `limit` (default 1000) expired entries; returns how many it removed. */
  purgeExpired(limit?: number): Promise<number>;
  /** `true` for a live key. */
  exists(key: string): Promise<boolean>;
  /** Seconds left; `Infinity` for a key without TTL; `undefined` when missing or expired. */
  ttl(key: string): Promise<number | undefined>;
  /** Adds `amount` (default 1) to an integer value, a missing key counting as 0; returns the result. */
  incr(key: string, amount?: number, options?: TtlOption): Promise<number>;
  /** Live keys starting with `prefix`, ascending, strictly after `after`, at most `limit`. */
  scanPrefix(prefix: string, options?: ScanOptions): Promise<string[]>;
  /** Releases timers and connections; idempotent. Later calls reject with `KV_CLOSED`. */
  close(): Promise<void>;
}
