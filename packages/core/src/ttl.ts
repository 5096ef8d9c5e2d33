import { invalidArgument } from "./errors.js";
import type { TtlOption } from "./types.js";

/** A deadline that never comes: the entry has no TTL. */
export const NO_DEADLINE = Number.POSITIVE_INFINITY;

/**
 * The longest TTL, 2^52 ms (about 142,700 years). A longer `ttlSeconds` is accepted and
 * kept at this, the same on every backend: `1e308 * 1000` would overflow to Infinity, a
 * deadline that means "no TTL"; and past 2^53 ms deadlines stop being exact integers
 * (Redis's PX takes integers only).
 */
export const MAX_TTL_MS = 2 ** 52;

/**
 * How far below a whole millisecond `s * 1000` may land and still count as it: the
 * product of a decimal number of seconds and 1000 is not always exact in binary
 * (`1.1 * 1000` is 1100.0000000000002), and SPEC.md wants 1.1 s to be 1100 ms.
 */
const ROUNDING_SLACK_MS = 1e-6;

/**
 * `ttlSeconds` as whole milliseconds, `max(1, ceil(s * 1000 - 1e-6))` as SPEC.md writes
 * it (at most `MAX_TTL_MS`). Throws KV_INVALID_ARGUMENT unless it is a finite number > 0.
 */
export function ttlToMs(method: string, ttlSeconds: unknown, name = "ttlSeconds"): number {
  if (typeof ttlSeconds !== "number" || !(ttlSeconds > 0) || ttlSeconds === Infinity) {
    throw invalidArgument(method, `${name} must be a finite number > 0`, ttlSeconds);
  }
  return Math.min(Math.max(1, Math.ceil(ttlSeconds * 1000 - ROUNDING_SLACK_MS)), MAX_TTL_MS);
}

/**
 * The deadline of an in-place change (`listAppendUnique`, `incr`, SPEC.md "TTL"): a TTL
 * passed sets one `ttlMs` from `now`; none keeps the deadline the key had
 * (`NO_DEADLINE` for a new key or one without TTL).
 */
export function keepOrSetDeadline(
  current: number | undefined,
  now: number,
  ttlMs: number | undefined,
): number {
  return ttlMs === undefined ? (current ?? NO_DEADLINE) : now + ttlMs;
}

/**
 * The TTL of an options bag in milliseconds, or `undefined` when none was passed.
 * `options` itself may be undefined; anything else that is not an object is rejected.
 */
export function ttlFromOptions(method: string, options: TtlOption | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(method, "options must be an object", options);
  }
  const s = options.ttlSeconds;
  return s === undefined ? undefined : ttlToMs(method, s);
}

/** The deadline of an entry written at `now` with a TTL of `ttlMs` (none: `NO_DEADLINE`). */
export function deadlineOf(now: number, ttlMs: number | undefined): number {
  return ttlMs === undefined ? NO_DEADLINE : now + ttlMs;
}

/** Expired from the instant `now >= deadline` (SPEC.md). */
export function isExpired(deadline: number, now: number): boolean {
  return now >= deadline;
}

/** What `ttl()` reports for a live entry: seconds left at millisecond precision, or Infinity. */
export function secondsLeft(deadline: number, now: number): number {
  if (deadline === NO_DEADLINE) return Number.POSITIVE_INFINITY;
  return Math.ceil(deadline - now) / 1000;
}
