import { LRUCache } from "lru-cache";
import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";
import { appendUnique, incremented } from "./user-lists.js";

/** The same capacity as kv-lru's row. */
const CAPACITY = 100_000;

/**
 * Raw lru-cache 11 holding JSON strings: what a user who wants copy semantics and a
 * bound writes by hand. Synchronous underneath, so the read-modify-write operations
 * cannot interleave with another call.
 */
class LruCacheJsonStore implements Store {
  readonly #cache = new LRUCache<string, string>({ max: CAPACITY });

  #read(key: string): unknown {
    const text = this.#cache.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  async get(key: string): Promise<unknown> {
    return this.#read(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#cache.set(key, JSON.stringify(value));
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    // lru-cache takes milliseconds.
    this.#cache.set(key, JSON.stringify(value), { ttl: Math.ceil(ttlSeconds * 1000) });
  }

  async mget(keys: readonly string[]): Promise<unknown[]> {
    return keys.map((key) => this.#read(key));
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs;
  }

  async mset(prepared: unknown): Promise<void> {
    const pairs = prepared as Pairs;
    const texts = pairs.map(([, value]) => JSON.stringify(value));
    for (let i = 0; i < pairs.length; i++) this.#cache.set(pairs[i]![0], texts[i]!);
  }

  async delete(key: string): Promise<boolean> {
    return this.#cache.delete(key);
  }

  async incr(key: string): Promise<number> {
    const next = incremented(this.#read(key));
    this.#cache.set(key, String(next));
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const list = appendUnique(this.#read(key), items);
    this.#cache.set(key, JSON.stringify(list));
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const list = this.#read(key);
    this.#cache.delete(key);
    return Array.isArray(list) ? list : [];
  }

  async close(): Promise<void> {
    this.#cache.clear();
  }
}

const SYNC_NOTE =
  "read + write in user code (synchronous library, so no other call can interleave)";

export const lruCacheJson: Subject = {
  name: "lru-cache-json",
  what: "lru-cache 11 storing JSON strings (max 100,000)",
  copies: true,
  copyNote: "JSON.stringify on write, JSON.parse on read (in the adapter)",
  support: {
    incr: { kind: "emulated", note: SYNC_NOTE },
    listAppendUnique: {
      kind: "emulated",
      note: `${SYNC_NOTE}; the whole list is parsed and re-stringified`,
    },
    listPopAll: { kind: "emulated", note: SYNC_NOTE },
  },
  create: () => new LruCacheJsonStore(),
};
