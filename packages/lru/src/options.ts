import {
  type Clock,
  invalidArgument,
  type PurgeOptions,
  type ResolvedPurge,
  resolveMaxValueBytes,
  resolvePurgeOptions,
} from "@kv/core/adapter";

/**
 * Why the cache dropped an entry the caller did not delete:
 * - `"evict"`: a live entry made room for a write (capacity: `max` or `maxBytes`);
 * - `"expire"`: an entry whose TTL had passed was removed (by `purgeExpired`, by the
 *   background purge or a write that helps, or chosen for eviction after it had
 *   already expired).
 */
export type EvictionReason = "evict" | "expire";

/**
 * Besides the bounds: `purgeIntervalSeconds` and `purgeOnWrite` (core's `PurgeOptions`)
 * say how expired entries are removed before capacity pressure would evict live ones.
 */
export interface LruBackendOptions extends PurgeOptions {
  /** The most entries the cache holds. At least one of `max` and `maxBytes` is required. */
  max?: number;
  /**
   * The most bytes the cache holds, counting each entry as the UTF-8 length of its
   * value's JSON plus the UTF-8 length of its key. A single entry larger than this is
   * rejected with `KV_VALUE_TOO_LARGE` (it could never be stored).
   */
  maxBytes?: number;
  /** Where TTLs read the time (milliseconds). Default: a monotonic system clock. */
  clock?: Clock;
  /** The largest value, as UTF-8 bytes of JSON. Default 1 MiB. */
  maxValueBytes?: number;
  /**
   * Called for every entry the cache drops on its own (never for `delete`,
   * `listPopAll` or an overwrite). It runs once the operation that caused it has
   * finished its change, before that operation's promise settles. An error it throws
   * does not fail the operation (which already happened): it is rethrown from a
   * microtask, where it surfaces as an uncaught exception instead of vanishing.
   */
  onEvict?: (key: string, reason: EvictionReason) => void;
}

/** Counters since the backend was created, plus what it holds right now. */
export interface LruStats {
  /** `get` calls and `mget` slots that found a live value. */
  hits: number;
  /** `get` calls and `mget` slots that found nothing (missing or expired). */
  misses: number;
  /** Live entries dropped to make room (`onEvict` reason `"evict"`). */
  evictions: number;
  /** Expired entries removed (`onEvict` reason `"expire"`). */
  expirations: number;
  /** Entries held now, expired ones not yet removed included. */
  entries: number;
  /** Accounted bytes held now (key + JSON, UTF-8); always 0 without `maxBytes`. */
  bytes: number;
}

/**
 * The capacity `createLruBackend` (and so `lru://` with no `max` or `maxBytes`) uses when
 * given neither bound: 10,000 entries. lru-cache allocates its index arrays for `max`
 * entries up front, so the default stays modest; a deployment that knows its value
 * sizes should set `maxBytes` instead.
 */
export const DEFAULT_LRU_MAX = 10_000;

export interface ResolvedOptions {
  max: number | undefined;
  maxBytes: number | undefined;
  clock: Clock | undefined;
  maxValueBytes: number;
  onEvict: ((key: string, reason: EvictionReason) => void) | undefined;
  purge: ResolvedPurge;
}

const WHERE = "LruBackend";

function optionalCount(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw invalidArgument(WHERE, `${name} must be a positive integer`, value);
  }
  return value as number;
}

/** Checks the constructor's options; every problem is a `KV_INVALID_ARGUMENT`. */
export function resolveOptions(options: LruBackendOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(WHERE, "options must be an object with max and/or maxBytes", options);
  }
  const max = optionalCount(options.max, "max");
  const maxBytes = optionalCount(options.maxBytes, "maxBytes");
  if (max === undefined && maxBytes === undefined) {
    // lru-cache refuses an unbounded cache, and an unbounded one is what @kv/memory is for.
    throw invalidArgument(WHERE, "options must set max (entries) or maxBytes (bytes)", options.max);
  }
  const { clock, onEvict } = options;
  if (clock !== undefined && typeof clock?.now !== "function") {
    throw invalidArgument(WHERE, "clock must have a now() method", clock);
  }
  if (onEvict !== undefined && typeof onEvict !== "function") {
    throw invalidArgument(WHERE, "onEvict must be a function", onEvict);
  }
  return {
    max,
    maxBytes,
    clock,
    maxValueBytes: resolveMaxValueBytes(WHERE, options.maxValueBytes),
    onEvict,
    purge: resolvePurgeOptions(WHERE, options),
  };
}
