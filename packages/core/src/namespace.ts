import { onAbort } from "./abort.js";
import { closedError, invalidArgument } from "./errors.js";
import { type PrefixPurger, PURGE_EXPIRED_PREFIX } from "./purge-prefix.js";
import type {
  Entries,
  KVBackend,
  ListAppendOptions,
  PopOptions,
  ScanOptions,
  TtlOption,
} from "./types.js";
import {
  assertKey,
  assertKeys,
  DEFAULT_PURGE_LIMIT,
  resolveLimit,
  resolveScan,
} from "./validate.js";

/**
 * A view of `backend` in which every key is `prefix + key`. It never reads or writes a
 * key outside its prefix, and `scanPrefix` returns keys without it. Keys are checked
 * here before the prefix is added (an empty key must not become the bare prefix).
 *
 * `purgeExpired` removes and counts the view's own expired entries when the backend
 * offers `PURGE_EXPIRED_PREFIX` (purge-prefix.ts: the in-process backends do, at
 * O(log n + keys of the prefix visited)), and otherwise removes nothing and returns 0, as
 * SPEC.md allows a backend whose engine expires keys itself (Redis). The contract alone
 * cannot do it: `scanPrefix` leaves expired keys out, and the store's `purgeExpired` is not
 * restricted to a prefix (it would remove, and count, other namespaces' entries). A view
 * of a view offers the hook too, so nested namespaces purge their own.
 *
 * `close()` closes the view only, and rejects the view's pending waiting pops with
 * KV_CLOSED; the backend stays open for its owner.
 */
export function namespaced(backend: KVBackend, prefix: string): KVBackend {
  if (typeof prefix !== "string" || prefix.length === 0 || !prefix.isWellFormed()) {
    throw invalidArgument("namespaced", "prefix must be a non-empty, well-formed string", prefix);
  }
  return new NamespacedBackend(backend, prefix);
}

class NamespacedBackend implements KVBackend, PrefixPurger {
  readonly #inner: KVBackend;
  readonly #prefix: string;
  #closed = false;
  /** The view's pending waiting pops, aborted by `close()`. */
  readonly #waits = new Set<AbortController>();

  constructor(inner: KVBackend, prefix: string) {
    this.#inner = inner;
    this.#prefix = prefix;
  }

  /** The inner key of a checked key; also the one place that refuses calls after close. */
  #key(method: string, key: string): string {
    if (this.#closed) throw closedError(method);
    assertKey(method, key);
    return this.#prefix + key;
  }

  async get<T>(key: string, defaultValue?: T): Promise<T | undefined> {
    return this.#inner.get(this.#key("get", key), defaultValue);
  }

  async set(
    key: string,
    value: Parameters<KVBackend["set"]>[1],
    options?: TtlOption,
  ): Promise<void> {
    return this.#inner.set(this.#key("set", key), value, options);
  }

  async delete(key: string): Promise<boolean> {
    return this.#inner.delete(this.#key("delete", key));
  }

  async listAppendUnique<T extends object>(
    key: string,
    items: T[],
    options?: ListAppendOptions,
  ): Promise<T[]> {
    return this.#inner.listAppendUnique(this.#key("listAppendUnique", key), items, options);
  }

  async listPopAll<T>(key: string, options?: PopOptions): Promise<T[]> {
    const inner = this.#key("listPopAll", key);
    const signal = options?.signal;
    if (
      options?.waitSeconds === undefined ||
      !(signal === undefined || signal instanceof AbortSignal)
    ) {
      // No wait, or options the inner backend rejects.
      return this.#inner.listPopAll(inner, options);
    }
    // A wait of the view's own: close() aborts it (with KV_CLOSED), as the caller's
    // signal would.
    const controller = new AbortController();
    let stopAbort: (() => void) | undefined;
    if (signal?.aborted) {
      controller.abort(signal.reason);
    } else if (signal !== undefined) {
      stopAbort = onAbort(signal, () => controller.abort(signal.reason));
    }
    this.#waits.add(controller);
    try {
      return await this.#inner.listPopAll(inner, { ...options, signal: controller.signal });
    } finally {
      this.#waits.delete(controller);
      stopAbort?.();
    }
  }

  async mget<T>(keys: string[]): Promise<(T | undefined)[]> {
    if (this.#closed) throw closedError("mget");
    assertKeys("mget", keys);
    return this.#inner.mget(keys.map((k) => this.#prefix + k));
  }

  async mset(entries: Entries, options?: TtlOption): Promise<void> {
    if (this.#closed) throw closedError("mset");
    if (typeof entries !== "object" || entries === null) {
      throw invalidArgument(
        "mset",
        "entries must be a record or an iterable of [key, value] pairs",
        entries,
      );
    }
    // Keys are prefixed lazily; the inner backend checks every pair before writing any.
    const pairs = Symbol.iterator in entries ? entries : Object.entries(entries);
    const prefix = this.#prefix;
    const prefixed: Iterable<readonly [string, unknown]> = {
      *[Symbol.iterator]() {
        let i = 0;
        for (const pair of pairs as Iterable<unknown>) {
          if (!Array.isArray(pair) || pair.length !== 2) {
            throw invalidArgument("mset", `entries[${i}] must be a [key, value] pair`, pair);
          }
          assertKey("mset", pair[0], `entries[${i}][0]`);
          yield [prefix + pair[0], pair[1]] as const;
          i++;
        }
      },
    };
    return this.#inner.mset(prefixed as Entries, options);
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    return this.#inner.expire(this.#key("expire", key), ttlSeconds);
  }

  async purgeExpired(limit?: number): Promise<number> {
    if (this.#closed) throw closedError("purgeExpired");
    const n = resolveLimit("purgeExpired", limit, DEFAULT_PURGE_LIMIT);
    return (await this[PURGE_EXPIRED_PREFIX]("", n)) ?? 0;
  }

  /** The view's purge of a sub-prefix: the backend's, under the view's prefix. */
  async [PURGE_EXPIRED_PREFIX](prefix: string, limit: number): Promise<number | undefined> {
    if (this.#closed) throw closedError("purgeExpired");
    const inner = this.#inner as Partial<PrefixPurger>;
    const purge = inner[PURGE_EXPIRED_PREFIX];
    if (typeof purge !== "function") return undefined;
    return purge.call(inner, this.#prefix + prefix, limit);
  }

  async exists(key: string): Promise<boolean> {
    return this.#inner.exists(this.#key("exists", key));
  }

  async ttl(key: string): Promise<number | undefined> {
    return this.#inner.ttl(this.#key("ttl", key));
  }

  async incr(key: string, amount?: number, options?: TtlOption): Promise<number> {
    return this.#inner.incr(this.#key("incr", key), amount, options);
  }

  async scanPrefix(prefix: string, options?: ScanOptions): Promise<string[]> {
    if (this.#closed) throw closedError("scanPrefix");
    const scan = resolveScan("scanPrefix", prefix, options);
    const p = this.#prefix;
    // Every inner key here starts with `p`, so comparing `p + a` with `p + b` orders as `a` with `b`.
    const after = scan.after === undefined ? undefined : p + scan.after;
    const keys = await this.#inner.scanPrefix(p + scan.prefix, { limit: scan.limit, after });
    return keys.map((k) => k.slice(p.length));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#waits) controller.abort(closedError("listPopAll"));
    this.#waits.clear();
  }
}
