import NodeCache from "node-cache";
import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";
import { appendUnique, incremented } from "./user-lists.js";

/**
 * node-cache 5 with its defaults (`useClones: true`). Its API is synchronous; the
 * adapter's async methods are the `await` a user of our async API pays as well. Being
 * synchronous, its get + set emulations cannot interleave with another call.
 */
class NodeCacheStore implements Store {
  readonly #cache = new NodeCache();

  async get(key: string): Promise<unknown> {
    return this.#cache.get(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#cache.set(key, value);
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.#cache.set(key, value, ttlSeconds);
  }

  async mget(keys: readonly string[]): Promise<unknown[]> {
    // node-cache answers with an object keyed by the keys found; a caller wants slots.
    const found = this.#cache.mget(keys as string[]);
    return keys.map((key) => found[key]);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs.map(([key, val]) => ({ key, val }));
  }

  async mset(prepared: unknown): Promise<void> {
    this.#cache.mset(prepared as { key: string; val: unknown }[]);
  }

  async delete(key: string): Promise<number> {
    return this.#cache.del(key);
  }

  async incr(key: string): Promise<number> {
    const next = incremented(this.#cache.get(key));
    this.#cache.set(key, next);
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const list = appendUnique(this.#cache.get(key), items);
    this.#cache.set(key, list);
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const list = this.#cache.take(key);
    return Array.isArray(list) ? list : [];
  }

  async close(): Promise<void> {
    this.#cache.close();
  }
}

const SYNC_NOTE = "get + set in user code (synchronous library, so no other call can interleave)";

export const nodeCache: Subject = {
  name: "node-cache",
  what: "node-cache 5.1 (useClones: true, the default)",
  copies: true,
  copyNote: "deep-clones (clone package) on write and on read",
  support: {
    incr: { kind: "emulated", note: SYNC_NOTE },
    listAppendUnique: { kind: "emulated", note: SYNC_NOTE },
    listPopAll: { kind: "native", note: "take(key): get + delete in one call" },
  },
  create: () => new NodeCacheStore(),
};
