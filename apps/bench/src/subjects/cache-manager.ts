import { type Cache, createCache } from "cache-manager";
import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";
import { appendUnique, GET_SET_NOTE, incremented } from "./user-lists.js";

/** cache-manager 7 with its default store: one in-memory keyv with serialization off. */
class CacheManagerStore implements Store {
  readonly #cache: Cache = createCache();

  get(key: string): Promise<unknown> {
    return this.#cache.get(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.#cache.set(key, value);
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    // cache-manager takes milliseconds.
    await this.#cache.set(key, value, ttlSeconds * 1000);
  }

  mget(keys: readonly string[]): Promise<unknown[]> {
    return this.#cache.mget(keys as string[]);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs.map(([key, value]) => ({ key, value }));
  }

  async mset(prepared: unknown): Promise<void> {
    await this.#cache.mset(prepared as { key: string; value: unknown }[]);
  }

  delete(key: string): Promise<boolean> {
    return this.#cache.del(key);
  }

  async incr(key: string): Promise<number> {
    const next = incremented(await this.#cache.get(key));
    await this.#cache.set(key, next);
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const list = appendUnique(await this.#cache.get(key), items);
    await this.#cache.set(key, list);
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const list = await this.#cache.get(key);
    await this.#cache.del(key);
    return Array.isArray(list) ? list : [];
  }

  async close(): Promise<void> {
    await this.#cache.disconnect();
  }
}

export const cacheManager: Subject = {
  name: "cache-manager",
  what: "cache-manager 7.2 (default keyv memory store)",
  copies: false,
  copyNote: "keeps references: createCache() turns keyv's serializer off",
  support: {
    incr: { kind: "emulated", note: GET_SET_NOTE },
    listAppendUnique: { kind: "emulated", note: GET_SET_NOTE },
    listPopAll: { kind: "emulated", note: "get + del in user code, not atomic" },
  },
  create: () => new CacheManagerStore(),
};
