import { createKeyv, type Keyv } from "@keyv/redis";
import type { Item } from "../data.js";
import type { Pairs } from "../subjects/types.js";
import { appendUnique } from "../subjects/user-lists.js";
import type { RedisStore, RedisSubject } from "./types.js";

/** @keyv/redis 4 (on node-redis) through keyv 5, with the defaults `createKeyv` gives. */
class KeyvRedisStore implements RedisStore {
  constructor(readonly keyv: Keyv) {}

  get(key: string): Promise<unknown> {
    return this.keyv.get(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.keyv.set(key, value);
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.keyv.set(key, value, ttlSeconds * 1000);
  }

  mget(keys: readonly string[]): Promise<unknown[]> {
    return this.keyv.getMany(keys as string[]);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs.map(([key, value]) => ({ key, value }));
  }

  async mset(prepared: unknown): Promise<void> {
    await this.keyv.setMany(prepared as { key: string; value: unknown }[]);
  }

  async msetTtl(prepared: unknown, ttlSeconds: number): Promise<void> {
    const ttl = ttlSeconds * 1000;
    await this.keyv.setMany(
      (prepared as { key: string; value: unknown }[]).map((e) => ({ ...e, ttl })),
    );
  }

  /** No list operation: get + set in user code, two round trips, not atomic. */
  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const list = appendUnique(await this.keyv.get(key), items);
    await this.keyv.set(key, list);
    return list;
  }

  /** get + delete in user code: two round trips, not atomic (an append in between is lost). */
  async listPopAll(key: string): Promise<unknown[]> {
    const list = await this.keyv.get(key);
    await this.keyv.delete(key);
    return Array.isArray(list) ? list : [];
  }

  async close(): Promise<void> {
    await this.keyv.disconnect();
  }
}

export const keyvRedis: RedisSubject = {
  name: "keyv-redis",
  what: "@keyv/redis 4.6 + keyv 5 (node-redis client, which pipelines on its own)",
  commands:
    "GET; SET [PX]; MGET; MULTI/SET…/EXEC (setMany); listAppendUnique = GET then SET, listPopAll = GET then DEL (user code)",
  async create(url) {
    const keyv = createKeyv(url);
    await keyv.get("warm-up");
    return new KeyvRedisStore(keyv);
  },
};
