import { encodeValue } from "./codec.js";
import { invalidArgument } from "./errors.js";
import type { Entries, ScanOptions } from "./types.js";

/**
 * A key is a non-empty, well-formed Unicode string. Remote backends store UTF-8, where
 * a lone surrogate would become U+FFFD and two different keys would collide.
 */
export function assertKey(method: string, key: unknown, name = "key"): asserts key is string {
  if (typeof key !== "string" || key.length === 0 || !key.isWellFormed()) {
    throw invalidArgument(method, `${name} must be a non-empty, well-formed string`, key);
  }
}

/** `mget`'s keys: an array of valid keys (repeats allowed). */
export function assertKeys(method: string, keys: unknown): asserts keys is string[] {
  if (!Array.isArray(keys)) throw invalidArgument(method, "keys must be an array of keys", keys);
  for (let i = 0; i < keys.length; i++) assertKey(method, keys[i], `keys[${i}]`);
}

/** A positive integer count, with its default when `undefined`. */
export function resolveLimit(
  method: string,
  limit: unknown,
  fallback: number,
  name = "limit",
): number {
  if (limit === undefined) return fallback;
  if (!Number.isSafeInteger(limit) || (limit as number) <= 0) {
    throw invalidArgument(method, `${name} must be a positive integer`, limit);
  }
  return limit as number;
}

/** `incr`'s amount: a safe integer (negative decrements), default 1. */
export function resolveAmount(method: string, amount: unknown): number {
  if (amount === undefined) return 1;
  if (!Number.isSafeInteger(amount)) {
    throw invalidArgument(method, "amount must be a safe integer", amount);
  }
  return amount as number;
}

export const DEFAULT_SCAN_LIMIT = 1000;

/** `purgeExpired`'s default limit. */
export const DEFAULT_PURGE_LIMIT = 1000;

export interface ResolvedScan {
  prefix: string;
  limit: number;
  after: string | undefined;
}

/** `scanPrefix`'s arguments checked: `prefix` may be `""`; `after` is any well-formed string. */
export function resolveScan(
  method: string,
  prefix: unknown,
  options: ScanOptions | undefined,
): ResolvedScan {
  if (typeof prefix !== "string" || !prefix.isWellFormed()) {
    throw invalidArgument(method, "prefix must be a well-formed string", prefix);
  }
  if (options === undefined) return { prefix, limit: DEFAULT_SCAN_LIMIT, after: undefined };
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(method, "options must be an object", options);
  }
  const { after } = options;
  if (after !== undefined && (typeof after !== "string" || !after.isWellFormed())) {
    throw invalidArgument(method, "after must be a well-formed string", after);
  }
  return { prefix, limit: resolveLimit(method, options.limit, DEFAULT_SCAN_LIMIT), after };
}

/**
 * `mset`'s entries as key → JSON text, every key and value checked and encoded before
 * anything is written (all or nothing). In an iterable of pairs the last pair for a key wins.
 */
export function encodeEntries(
  method: string,
  entries: Entries,
  maxBytes: number,
): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof entries !== "object" || entries === null) {
    throw invalidArgument(
      method,
      "entries must be a record or an iterable of [key, value] pairs",
      entries,
    );
  }
  if (Symbol.iterator in entries) {
    let i = 0;
    for (const pair of entries as Iterable<unknown>) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw invalidArgument(method, `entries[${i}] must be a [key, value] pair`, pair);
      }
      assertKey(method, pair[0], `entries[${i}][0]`);
      out.set(
        pair[0],
        encodeValue(method, pair[1], maxBytes, `the value of ${JSON.stringify(pair[0])}`),
      );
      i++;
    }
    return out;
  }
  for (const key of Object.keys(entries)) {
    assertKey(method, key);
    const value = (entries as Record<string, unknown>)[key];
    out.set(key, encodeValue(method, value, maxBytes, `the value of ${JSON.stringify(key)}`));
  }
  return out;
}
