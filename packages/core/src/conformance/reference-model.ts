import type { KVErrorCode } from "../errors.js";

/**
 * The oracle of the model-based test: SPEC.md written out as plainly as possible, with
 * none of @kv/core's helpers, so that a bug in a shared helper cannot hide in both the
 * backend and the model at once. Speed does not matter here; obviousness does.
 *
 * Every operation takes the same (freshly built) arguments the backend was given and
 * returns what the backend must answer: a value, or the set of error codes it may
 * reject with. Where several arguments are bad at once SPEC.md does not say which is
 * reported, so every applicable code is accepted. A rejected call changes nothing.
 */
export type Expected = { ok: unknown } | { fail: KVErrorCode[] };

const INVALID: KVErrorCode = "KV_INVALID_ARGUMENT";
const WRONG_TYPE: KVErrorCode = "KV_WRONG_TYPE";
const TOO_LARGE: KVErrorCode = "KV_VALUE_TOO_LARGE";

interface Entry {
  /** The value's JSON text: reads parse a fresh copy, so the model is stored by value too. */
  text: string;
  /** Model time (ms) from which the entry is expired; Infinity for no TTL. */
  deadline: number;
  /**
   * Real-clock runs only: the latest `performance.now()` the backend's deadline can be
   * (the write's TTL counted from when the write had returned). Infinity for no TTL.
   */
  wallDeadline: number;
}

const ok = (value: unknown): Expected => ({ ok: value });
const fail = (...codes: KVErrorCode[]): Expected => ({ fail: [...new Set(codes)] });

export function isValidKey(key: unknown): key is string {
  return typeof key === "string" && key.length > 0 && key.isWellFormed();
}

/**
 * `ttlSeconds` in whole ms, or `null` when invalid. SPEC.md v2 "TTL":
 * `max(1, ceil(s*1000 - 1e-6))`, forgiving the binary rounding of the product.
 */
function ttlMs(seconds: unknown): number | null {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) return null;
  return Math.max(1, Math.ceil(seconds * 1000 - 1e-6));
}

/** The TTL of an options bag: `undefined` when none is passed, `null` when it is invalid. */
function optionTtlMs(options: unknown): number | null | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) return null;
  const seconds = (options as { ttlSeconds?: unknown }).ttlSeconds;
  return seconds === undefined ? undefined : ttlMs(seconds);
}

/** JSON text of a value, or `null` when JSON cannot hold it (undefined, function, BigInt, cycle). */
function jsonText(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isId(value: unknown): value is string | number {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}

/** The id of a stored list element, or undefined when it takes no part in the dedupe. */
function elementId(element: unknown, idKey: string): string | number | undefined {
  if (typeof element !== "object" || element === null || Array.isArray(element)) return undefined;
  if (!Object.hasOwn(element, idKey)) return undefined;
  const id = (element as Record<string, unknown>)[idKey];
  return isId(id) ? id : undefined;
}

export class ReferenceModel {
  /** Model time in ms. Real-clock runs keep it at 0: their TTLs outlast a run. */
  now: number;
  /** Real-clock runs: `performance.now()` just after the current backend call returned. */
  wallNow = 0;
  readonly #entries = new Map<string, Entry>();

  /*
   * What `purgeExpired` may still find. Backends are free to drop an expired entry when
   * an operation touches its key (Redis-style lazy expiry) or to leave it for the purge
   * (@kv/memory), and a partial purge does not say which entries it took. So the model
   * keeps the keys that may still sit in the backend expired (`#stale`) and bounds on
   * how many of them do: `#staleMin` drops whenever one may have been dropped,
   * `#staleMax` only when one certainly was. Exact backends must answer inside the
   * bounds, and the bounds are exact until a touched-or-partial case makes them loose.
   */
  readonly #stale = new Set<string>();
  #staleMin = 0;
  #staleMax = 0;

  constructor(
    readonly maxValueBytes: number,
    now: number,
  ) {
    this.now = now;
  }

  /** Moves model time forward; entries whose deadline has come are expired from now on. */
  advance(ms: number): void {
    this.now += ms;
    for (const [key, entry] of this.#entries) {
      if (this.now >= entry.deadline) {
        this.#entries.delete(key);
        this.#stale.add(key);
        this.#staleMin++;
        this.#staleMax++;
      }
    }
  }

  // --- the operations ---------------------------------------------------------------

  get(key: unknown, defaultValue?: unknown): Expected {
    if (!isValidKey(key)) return fail(INVALID);
    this.#touch(key);
    const entry = this.#entries.get(key);
    return ok(entry === undefined ? defaultValue : JSON.parse(entry.text));
  }

  set(key: unknown, value: unknown, options?: unknown): Expected {
    const errors: KVErrorCode[] = [];
    if (!isValidKey(key)) errors.push(INVALID);
    const ms = optionTtlMs(options);
    if (ms === null) errors.push(INVALID);
    const text = jsonText(value);
    if (text === null) errors.push(INVALID);
    else if (utf8Bytes(text) > this.maxValueBytes) errors.push(TOO_LARGE);
    if (errors.length > 0 || !isValidKey(key) || ms === null || text === null) {
      this.#touchIfKey(key);
      return fail(...errors);
    }
    this.#write(key, text, ms);
    return ok(undefined);
  }

  delete(key: unknown): Expected {
    if (!isValidKey(key)) return fail(INVALID);
    this.#touch(key);
    return ok(this.#entries.delete(key));
  }

  listAppendUnique(key: unknown, items: unknown, options?: unknown): Expected {
    const errors: KVErrorCode[] = [];
    if (!isValidKey(key)) errors.push(INVALID);
    const ms = optionTtlMs(options);
    if (ms === null) errors.push(INVALID);
    // Only an absent idKey takes the default: null is a bad idKey, as in core.
    const givenIdKey = (options as { idKey?: unknown } | undefined)?.idKey;
    const idKey = givenIdKey === undefined ? "id" : givenIdKey;
    const idKeyValid = typeof idKey === "string" && idKey.length > 0;
    if (!idKeyValid) errors.push(INVALID);
    if (!Array.isArray(items)) errors.push(INVALID);
    else if (idKeyValid) {
      for (const item of items) {
        if (!isPlainObject(item) || !Object.hasOwn(item, idKey) || !isId(item[idKey])) {
          errors.push(INVALID);
        } else if (jsonText(item) === null) errors.push(INVALID);
      }
    }
    const entry = isValidKey(key) ? this.#entries.get(key) : undefined;
    const stored: unknown = entry === undefined ? [] : JSON.parse(entry.text);
    if (!Array.isArray(stored)) errors.push(WRONG_TYPE);
    if (
      errors.length > 0 ||
      !isValidKey(key) ||
      ms === null ||
      !idKeyValid ||
      !Array.isArray(items) ||
      !Array.isArray(stored)
    ) {
      this.#touchIfKey(key);
      return fail(...errors);
    }

    const seen = new Set<unknown>();
    for (const element of stored) seen.add(elementId(element, idKey));
    seen.delete(undefined);
    const list = [...stored];
    for (const item of items as Record<string, unknown>[]) {
      const id = item[idKey];
      if (seen.has(id)) continue;
      seen.add(id);
      list.push(JSON.parse(JSON.stringify(item)));
    }
    // A missing key with nothing to add stays missing (SPEC.md "Lists").
    if (entry === undefined && list.length === 0) {
      this.#touch(key);
      return ok([]);
    }
    const text = JSON.stringify(list);
    if (utf8Bytes(text) > this.maxValueBytes) {
      this.#touch(key);
      return fail(TOO_LARGE);
    }
    this.#writeInPlace(key, text, ms, entry);
    return ok(JSON.parse(text));
  }

  listPopAll(key: unknown): Expected {
    if (!isValidKey(key)) return fail(INVALID);
    this.#touch(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return ok([]);
    const value: unknown = JSON.parse(entry.text);
    if (!Array.isArray(value)) return fail(WRONG_TYPE);
    this.#entries.delete(key);
    return ok(value);
  }

  mget(keys: unknown): Expected {
    if (!Array.isArray(keys) || !keys.every(isValidKey)) return fail(INVALID);
    return ok(
      keys.map((key: string) => {
        this.#touch(key);
        const entry = this.#entries.get(key);
        return entry === undefined ? undefined : JSON.parse(entry.text);
      }),
    );
  }

  mset(entries: unknown, options?: unknown): Expected {
    const errors: KVErrorCode[] = [];
    const ms = optionTtlMs(options);
    if (ms === null) errors.push(INVALID);
    // Exactly the pairs the backend will see: a record's own keys, or what the iterable yields.
    let pairs: unknown[] = [];
    if (typeof entries !== "object" || entries === null) errors.push(INVALID);
    else if (Symbol.iterator in entries) pairs = [...(entries as Iterable<unknown>)];
    else pairs = Object.keys(entries).map((k) => [k, (entries as Record<string, unknown>)[k]]);
    const texts = new Map<string, string | null>();
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        errors.push(INVALID);
        continue;
      }
      const [key, value] = pair as [unknown, unknown];
      const text = jsonText(value);
      if (text === null) errors.push(INVALID);
      else if (utf8Bytes(text) > this.maxValueBytes) errors.push(TOO_LARGE);
      if (!isValidKey(key)) errors.push(INVALID);
      else texts.set(key, text); // the last pair for a key wins
    }
    if (errors.length > 0 || ms === null) {
      for (const key of texts.keys()) this.#touch(key);
      return fail(...errors);
    }
    for (const [key, text] of texts) this.#write(key, text as string, ms);
    return ok(undefined);
  }

  expire(key: unknown, ttlSeconds: unknown): Expected {
    const ms = ttlMs(ttlSeconds);
    if (!isValidKey(key) || ms === null) {
      this.#touchIfKey(key);
      return fail(INVALID);
    }
    this.#touch(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return ok(false);
    entry.deadline = this.now + ms;
    entry.wallDeadline = this.wallNow + ms;
    return ok(true);
  }

  exists(key: unknown): Expected {
    if (!isValidKey(key)) return fail(INVALID);
    this.#touch(key);
    return ok(this.#entries.has(key));
  }

  /** Seconds left in model time: exact with a manual clock. */
  ttl(key: unknown): Expected {
    if (!isValidKey(key)) return fail(INVALID);
    this.#touch(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return ok(undefined);
    return ok(entry.deadline === Infinity ? Infinity : (entry.deadline - this.now) / 1000);
  }

  /**
   * Real-clock runs: the most seconds a live key's TTL can show to a call issued at
   * `issuedAt` (its deadline at the latest, counted from the call at the earliest).
   */
  wallSecondsLeft(key: string, issuedAt: number): number | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    return entry.wallDeadline === Infinity ? Infinity : (entry.wallDeadline - issuedAt) / 1000;
  }

  incr(key: unknown, amount?: unknown, options?: unknown): Expected {
    const errors: KVErrorCode[] = [];
    if (!isValidKey(key)) errors.push(INVALID);
    const by = amount === undefined ? 1 : amount;
    if (!Number.isSafeInteger(by)) errors.push(INVALID);
    const ms = optionTtlMs(options);
    if (ms === null) errors.push(INVALID);
    const entry = isValidKey(key) ? this.#entries.get(key) : undefined;
    const base: unknown = entry === undefined ? 0 : JSON.parse(entry.text);
    if (!Number.isSafeInteger(base)) errors.push(WRONG_TYPE);
    if (errors.length > 0 || !isValidKey(key) || ms === null) {
      this.#touchIfKey(key);
      return fail(...errors);
    }
    this.#touch(key);
    const next = (base as number) + (by as number);
    if (!Number.isSafeInteger(next)) return fail(INVALID);
    this.#writeInPlace(key, JSON.stringify(next), ms, entry);
    return ok(next);
  }

  scanPrefix(prefix: unknown, options?: unknown): Expected {
    if (typeof prefix !== "string" || !prefix.isWellFormed()) return fail(INVALID);
    const { limit = 1000, after } = (options ?? {}) as { limit?: unknown; after?: unknown };
    if (!Number.isSafeInteger(limit) || (limit as number) <= 0) return fail(INVALID);
    if (after !== undefined && (typeof after !== "string" || !after.isWellFormed())) {
      return fail(INVALID);
    }
    for (const key of this.#stale) if (key.startsWith(prefix)) this.#touch(key);
    const keys = [...this.#entries.keys()]
      .filter((key) => key.startsWith(prefix) && (after === undefined || key > after))
      // The default sort compares UTF-16 code units: SPEC.md's "code-unit order".
      .sort()
      .slice(0, limit as number);
    return ok(keys);
  }

  /** Whether `limit` is a valid purge limit; the count itself is checked by `purgeBounds`. */
  purgeLimit(limit: unknown): number | null {
    if (limit === undefined) return 1000;
    return Number.isSafeInteger(limit) && (limit as number) > 0 ? (limit as number) : null;
  }

  /** The least and most `purgeExpired(limit)` may remove now (equal unless the past is unclear). */
  purgeBounds(limit: number): [number, number] {
    return [Math.min(limit, this.#staleMin), Math.min(limit, this.#staleMax)];
  }

  /** Learns from what a purge returned. `exact`: the backend counts exactly (`exactPurge`). */
  purged(limit: number, removed: number, exact: boolean): void {
    if (exact && removed < limit) {
      // Fewer than asked for: nothing expired is left.
      this.#stale.clear();
      this.#staleMin = 0;
      this.#staleMax = 0;
      return;
    }
    this.#staleMin = exact ? Math.max(this.#staleMin, removed) - removed : 0;
    this.#staleMax = Math.max(0, this.#staleMax - removed);
    if (this.#staleMax === 0) this.#stale.clear();
  }

  // --- bookkeeping --------------------------------------------------------------------

  /** Replaces the value: the TTL passed, or none (SPEC.md: `set`/`mset`). */
  #write(key: string, text: string, ms: number | undefined): void {
    this.#replaced(key);
    this.#entries.set(key, {
      text,
      deadline: ms === undefined ? Infinity : this.now + ms,
      wallDeadline: ms === undefined ? Infinity : this.wallNow + ms,
    });
  }

  /** Changes the value in place: the TTL passed, else the one a live key had (lists, incr). */
  #writeInPlace(key: string, text: string, ms: number | undefined, live: Entry | undefined): void {
    if (ms !== undefined || live === undefined) {
      this.#write(key, text, ms);
      return;
    }
    live.text = text;
  }

  /** A call named `key`: a backend may have dropped the expired entry it had. */
  #touch(key: string): void {
    if (this.#stale.has(key)) this.#staleMin = Math.max(0, this.#staleMin - 1);
  }

  #touchIfKey(key: unknown): void {
    if (isValidKey(key)) this.#touch(key);
  }

  /** `key` was written: whatever expired entry it had is certainly gone. */
  #replaced(key: string): void {
    if (!this.#stale.delete(key)) return;
    this.#staleMin = Math.max(0, this.#staleMin - 1);
    this.#staleMax = Math.min(this.#staleMax, this.#stale.size);
  }
}
