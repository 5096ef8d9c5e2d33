import { encodeValue, resolveMaxValueBytes } from "../codec.js";
import { closedError, describeValue, invalidArgument, KVError } from "../errors.js";
import { type PreparedAppend, prepareListAppend } from "../lists.js";
import { type PrefixPurger, PURGE_EXPIRED_PREFIX } from "../purge-prefix.js";
import { ttlFromOptions, ttlToMs } from "../ttl.js";
import type {
  Entries,
  JsonValue,
  KVBackend,
  ListAppendOptions,
  PopOptions,
  ScanOptions,
  TtlOption,
} from "../types.js";
import {
  assertKey,
  assertKeys,
  DEFAULT_PURGE_LIMIT,
  encodeEntries,
  type ResolvedScan,
  resolveAmount,
  resolveLimit,
  resolveScan,
} from "../validate.js";
import { ListWaits, resolvePop, type Wakeups } from "./waits.js";

/** What an engine method returns: a value at once (in-process) or a promise (remote). */
export type MaybePromise<T> = T | Promise<T>;

/** The answer of a write that finished synchronously: one resolved promise, shared. */
const DONE: Promise<void> = Promise.resolve();

export interface KVStoreOptions {
  /** The largest value, as UTF-8 bytes of JSON (for a list: the whole list). Default 1 MiB. */
  maxValueBytes?: number;
  /** How waiting pops learn of new items (see `Wakeups`). Default `"polling"`. */
  wakeups?: Wakeups;
  /** Names the store in errors about these options, e.g. `"MemoryBackend"`. */
  name?: string;
}

/**
 * The front door of every backend: the public methods of the contract (SPEC.md), written
 * once. Each checks that the store is open, checks and converts its arguments (keys,
 * TTLs in whole milliseconds, values encoded as JSON text within `maxValueBytes`), calls
 * the engine method of the same name with an underscore, and turns what the engine
 * returns into the contract's answer (fresh decoded copies, seconds, defaults). Waiting
 * pops, `close()` and the KV_CLOSED rule are handled here too.
 *
 * A backend extends this class and implements the engine: the `_` methods below. They
 * get arguments that are already valid, and hold their data as JSON text. An engine
 * method may answer synchronously (an in-process engine: then a whole call runs in one
 * synchronous stretch, which is what makes it atomic) or with a promise (a remote one).
 *
 * Errors an engine throws reach the caller as they are: an engine throws KVErrors
 * (`wrongType`, `KV_VALUE_TOO_LARGE` from the core helpers, `KV_UNAVAILABLE` for a lost
 * server) and nothing else.
 */
export abstract class KVStore implements KVBackend, PrefixPurger {
  /** The checked `maxValueBytes` option: engines size in-place changes (list appends) by it. */
  protected readonly maxValueBytes: number;
  readonly #wakeups: Wakeups;
  readonly #waits: ListWaits;
  #closed = false;

  constructor(options: KVStoreOptions = {}) {
    const name = options.name ?? new.target.name;
    this.maxValueBytes = resolveMaxValueBytes(name, options.maxValueBytes);
    const wakeups = options.wakeups ?? "polling";
    if (wakeups !== "own-writes" && wakeups !== "engine" && wakeups !== "polling") {
      throw invalidArgument(name, 'wakeups must be "own-writes", "engine" or "polling"', wakeups);
    }
    this.#wakeups = wakeups;
    this.#waits = new ListWaits("listPopAll", wakeups, {
      pop: (key) => this._listPop(key),
      watch: wakeups === "engine" ? (key, onChange) => this._watch(key, onChange) : undefined,
    });
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------------------------
  // The engine: implemented by each backend. Arguments are valid; TTLs are whole
  // milliseconds (`undefined`: none); values are JSON text.

  /** The live value's JSON text, or `undefined` for a missing or expired key. */
  protected abstract _get(key: string): MaybePromise<string | undefined>;
  /** Replaces the value; `ttlMs` undefined clears any TTL the key had. */
  protected abstract _set(key: string, json: string, ttlMs: number | undefined): MaybePromise<void>;
  /** Removes the key; true if it was live. */
  protected abstract _delete(key: string): MaybePromise<boolean>;
  /**
   * Appends `append.items` whose ids are not in the list yet, atomically, and returns the
   * whole list (fresh). Core's `planListAppend` does the work for an engine that holds
   * the list's JSON text; `keepOrSetDeadline` says which TTL the list keeps.
   */
  protected abstract _listAppend(key: string, append: PreparedAppend): MaybePromise<unknown[]>;
  /** Returns the live list and deletes the key atomically; `[]` when missing. */
  protected abstract _listPop(key: string): MaybePromise<unknown[]>;
  /** Writes every entry (checked and encoded) with the one TTL, all or nothing. */
  protected abstract _mset(
    entries: Map<string, string>,
    ttlMs: number | undefined,
  ): MaybePromise<void>;
  /** Gives a live key the TTL `ttlMs` from now; false if missing or expired. */
  protected abstract _expire(key: string, ttlMs: number): MaybePromise<boolean>;
  /** Removes at most `limit` expired entries; returns how many. */
  protected abstract _purgeExpired(limit: number): MaybePromise<number>;
  /** Milliseconds left for a live key, `Infinity` without TTL, `undefined` when missing. */
  protected abstract _ttl(key: string): MaybePromise<number | undefined>;
  /** Adds `amount` (core's `incremented` checks it), keeping or setting the TTL. */
  protected abstract _incr(
    key: string,
    amount: number,
    ttlMs: number | undefined,
  ): MaybePromise<number>;
  /** The live keys of `scan`, ascending, strictly after `scan.after`, at most `scan.limit`. */
  protected abstract _scanPrefix(scan: ResolvedScan): MaybePromise<string[]>;

  /** The JSON texts of `keys`, in order. Default: `_get` for each. */
  protected _mget(keys: string[]): MaybePromise<(string | undefined)[]> {
    const texts = keys.map((key) => this._get(key));
    return texts.some((text) => text instanceof Promise)
      ? Promise.all(texts)
      : (texts as (string | undefined)[]);
  }

  /** Whether `key` is live. Default: `_ttl` says so. */
  protected _exists(key: string): MaybePromise<boolean> {
    const r = this._ttl(key);
    return r instanceof Promise ? r.then((ms) => ms !== undefined) : r !== undefined;
  }

  /** Releases what the engine holds. Called once, by the first `close()`. */
  protected _close(): MaybePromise<void> {}

  /**
   * Removes at most `limit` expired entries whose keys start with `prefix` and returns how
   * many: what a namespaced view's `purgeExpired` runs. The default answers `undefined`
   * (cannot: the view then returns 0, as for an engine that expires keys itself). The
   * in-process engines walk their ordered key index (`OrderedKeys.scan` with an "expired"
   * test) and remove what they find, as their own purge does.
   */
  protected _purgeExpiredPrefix(_prefix: string, _limit: number): MaybePromise<number | undefined> {
    return undefined;
  }

  /**
   * With `wakeups: "engine"`: call `onChange` whenever `key` may have got items (another
   * client's append, a reconnect after which nothing is known); returns the unsubscribe.
   */
  protected _watch(_key: string, _onChange: () => void): () => void {
    throw new Error(`${this.constructor.name}: wakeups "engine" needs a _watch method`);
  }

  // ---------------------------------------------------------------------------------
  // The contract

  async get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined> {
    this.#assertOpen("get");
    assertKey("get", key);
    const r = this._get(key);
    const text = r instanceof Promise ? await r : r;
    return text === undefined ? defaultValue : decodeStored<T>("get", key, text);
  }

  /**
   * Not `async`: a synchronous engine's `set` (the in-process hot path) answers with one
   * shared resolved promise instead of allocating one per call. Errors still reject.
   */
  set(key: string, value: JsonValue, options?: TtlOption): Promise<void> {
    let json: string;
    let r: MaybePromise<void>;
    try {
      this.#assertOpen("set");
      assertKey("set", key);
      const ttlMs = ttlFromOptions("set", options);
      json = encodeValue("set", value, this.maxValueBytes);
      r = this._set(key, json, ttlMs);
    } catch (err) {
      return Promise.reject(err);
    }
    if (r instanceof Promise) {
      // Only own-writes wake-ups act after a set: other engines' promises go back as they are.
      return this.#wakeups === "own-writes" ? r.then(() => this.#afterSet(key, json)) : r;
    }
    this.#afterSet(key, json);
    return DONE;
  }

  /** A set that filled a list hands it to a waiting pop (in-process wake-ups). */
  #afterSet(key: string, json: string): void {
    if (this.#wakeups === "own-writes" && this.#waits.has(key) && isFilledList(json)) {
      this.#waits.offer(key);
    }
  }

  async delete(key: string): Promise<boolean> {
    this.#assertOpen("delete");
    assertKey("delete", key);
    return this._delete(key);
  }

  async listAppendUnique<T extends object>(
    key: string,
    items: T[],
    options?: ListAppendOptions,
  ): Promise<T[]> {
    this.#assertOpen("listAppendUnique");
    assertKey("listAppendUnique", key);
    const append = prepareListAppend("listAppendUnique", items, options);
    const r = this._listAppend(key, append);
    const list = (r instanceof Promise ? await r : r) as T[];
    if (this.#wakeups === "own-writes" && list.length > 0 && this.#waits.has(key)) {
      // The caller gets the list as it was after the append, even if a waiter pops it now.
      this.#waits.offer(key);
    }
    return list;
  }

  /**
   * Not `async` for a pop without options (an inbox's hot path): the engine's promise is
   * the caller's, with no frame of ours between. Errors still reject.
   */
  listPopAll<T = JsonValue>(key: string, options?: PopOptions): Promise<T[]> {
    if (options !== undefined) return this.#listPopWith<T>(key, options);
    let r: MaybePromise<unknown[]>;
    try {
      this.#assertOpen("listPopAll");
      assertKey("listPopAll", key);
      r = this._listPop(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return (r instanceof Promise ? r : Promise.resolve(r)) as Promise<T[]>;
  }

  async #listPopWith<T>(key: string, options: PopOptions): Promise<T[]> {
    this.#assertOpen("listPopAll");
    assertKey("listPopAll", key);
    const { waitMs, signal } = resolvePop("listPopAll", options);
    if (signal?.aborted) throw signal.reason;
    if (waitMs !== undefined && this.#wakeups !== "own-writes") {
      // The wait loop pops first itself (after it starts watching the key).
      return this.#waits.wait(key, waitMs, signal) as Promise<T[]>;
    }
    const r = this._listPop(key);
    const items = (r instanceof Promise ? await r : r) as T[];
    if (items.length > 0 || waitMs === undefined) return items;
    return this.#waits.wait(key, waitMs, signal) as Promise<T[]>;
  }

  async mget<T = JsonValue>(keys: string[]): Promise<(T | undefined)[]> {
    this.#assertOpen("mget");
    assertKeys("mget", keys);
    if (keys.length === 0) return [];
    const r = this._mget(keys);
    const texts = r instanceof Promise ? await r : r;
    const out = new Array<T | undefined>(keys.length);
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i];
      out[i] = text === undefined ? undefined : decodeStored<T>("mget", keys[i]!, text);
    }
    return out;
  }

  async mset(entries: Entries, options?: TtlOption): Promise<void> {
    this.#assertOpen("mset");
    const ttlMs = ttlFromOptions("mset", options);
    // Every pair is checked and encoded before the first write: all or nothing.
    const encoded = encodeEntries("mset", entries, this.maxValueBytes);
    if (encoded.size === 0) return;
    const r = this._mset(encoded, ttlMs);
    if (r instanceof Promise) await r;
    if (this.#wakeups === "own-writes" && this.#waits.any) {
      for (const [key, json] of encoded) {
        if (this.#waits.has(key) && isFilledList(json)) this.#waits.offer(key);
      }
    }
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    this.#assertOpen("expire");
    assertKey("expire", key);
    return this._expire(key, ttlToMs("expire", ttlSeconds));
  }

  async purgeExpired(limit?: number): Promise<number> {
    this.#assertOpen("purgeExpired");
    return this._purgeExpired(resolveLimit("purgeExpired", limit, DEFAULT_PURGE_LIMIT));
  }

  /** A namespaced view's `purgeExpired` (purge-prefix.ts), run by the engine when it can. */
  async [PURGE_EXPIRED_PREFIX](prefix: string, limit: number): Promise<number | undefined> {
    this.#assertOpen("purgeExpired");
    return this._purgeExpiredPrefix(
      prefix,
      resolveLimit("purgeExpired", limit, DEFAULT_PURGE_LIMIT),
    );
  }

  async exists(key: string): Promise<boolean> {
    this.#assertOpen("exists");
    assertKey("exists", key);
    return this._exists(key);
  }

  async ttl(key: string): Promise<number | undefined> {
    this.#assertOpen("ttl");
    assertKey("ttl", key);
    const r = this._ttl(key);
    const ms = r instanceof Promise ? await r : r;
    return ms === undefined || ms === Number.POSITIVE_INFINITY ? ms : ms / 1000;
  }

  async incr(key: string, amount?: number, options?: TtlOption): Promise<number> {
    this.#assertOpen("incr");
    assertKey("incr", key);
    const by = resolveAmount("incr", amount);
    return this._incr(key, by, ttlFromOptions("incr", options));
  }

  async scanPrefix(prefix: string, options?: ScanOptions): Promise<string[]> {
    this.#assertOpen("scanPrefix");
    return this._scanPrefix(resolveScan("scanPrefix", prefix, options));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.close();
    await this._close();
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw closedError(method);
  }
}

/**
 * Whether a value's JSON text (as the front door encoded it) is a non-empty array: what
 * a waiting pop waits for. `JSON.stringify` writes no spaces: a filled array's text starts
 * with `[` and is not `[]`.
 */
export function isFilledList(json: string): boolean {
  return json.charCodeAt(0) === 0x5b && json.length > 2;
}

/**
 * A stored JSON text, decoded: a fresh copy on every call. Text that is not JSON was
 * written by another program (a shared Redis, a database file): KV_WRONG_TYPE.
 */
export function decodeStored<T = unknown>(method: string, key: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new KVError(
      "KV_WRONG_TYPE",
      `${method}: the value at ${describeValue(key)} is not JSON (was it written by another program?)`,
      { cause },
    );
  }
}
