import type { JsonValue } from "@kv/core";
import type { RedisBackend } from "@kv/redis";
import type { Item } from "../data.js";
import type { Pairs } from "../subjects/types.js";
import type { RedisStore, RedisSubject } from "./types.js";

class KvRedisStore implements RedisStore {
  constructor(readonly backend: RedisBackend) {}

  get(key: string): Promise<unknown> {
    return this.backend.get(key);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.backend.set(key, value as JsonValue);
  }

  setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    return this.backend.set(key, value as JsonValue, { ttlSeconds });
  }

  mget(keys: readonly string[]): Promise<unknown[]> {
    return this.backend.mget(keys as string[]);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs;
  }

  mset(prepared: unknown): Promise<void> {
    return this.backend.mset(prepared as Iterable<readonly [string, JsonValue]>);
  }

  msetTtl(prepared: unknown, ttlSeconds: number): Promise<void> {
    return this.backend.mset(prepared as Iterable<readonly [string, JsonValue]>, { ttlSeconds });
  }

  listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    return this.backend.listAppendUnique(key, items);
  }

  listPopAll(key: string): Promise<unknown[]> {
    return this.backend.listPopAll(key);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

/** @kv/redis built from a URL, as users build it; `autoPipelining` passes ioredis's option through. */
export function kvRedis(autoPipelining: boolean): RedisSubject {
  return {
    name: autoPipelining ? "kv-redis (auto-pipelining)" : "kv-redis",
    what: `@kv/redis from a URL${autoPipelining ? ", redisOptions: { enableAutoPipelining: true }" : " (ioredis defaults: no auto-pipelining)"}`,
    baseline: autoPipelining ? "ioredis-raw (auto-pipelining)" : "ioredis-raw",
    commands:
      "GET; SET [PX]; MGET; MSET, or EVALSHA of a SET…PX script with a TTL; EVALSHA append script; EVALSHA pop script",
    async create(url) {
      const { RedisBackend } = await import("@kv/redis");
      const backend = new RedisBackend({
        url,
        ...(autoPipelining ? { redisOptions: { enableAutoPipelining: true } } : {}),
      });
      // The first call waits for the connection; make it before anything is timed.
      await backend.exists("warm-up");
      return new KvRedisStore(backend);
    },
  };
}
