import { KVBackendStore } from "../subjects/kv-backend.js";
import type { RedisStore, RedisSubject } from "./types.js";

/**
 * @kv/redis built from a URL, as users build it: with its default, pipelining on (its
 * commands grouped 16 a socket write; compared with raw ioredis with
 * `enableAutoPipelining: true`), or with `autoPipelining: false` (compared with raw
 * ioredis's defaults).
 */
export function kvRedis(autoPipelining: boolean): RedisSubject {
  return {
    name: autoPipelining ? "kv-redis" : "kv-redis (no pipelining)",
    what: `@kv/redis from a URL${autoPipelining ? " (its default: autoPipelining, commands grouped 16 a socket write)" : ", autoPipelining: false"}`,
    baseline: autoPipelining ? "ioredis-raw (auto-pipelining)" : "ioredis-raw",
    commands:
      'GET; MGET; EVALSHA of the set, mset, append and pop scripts (each with a request id, README "Exactly once")',
    async create(url) {
      return kvRedisStore(url, { autoPipelining });
    },
  };
}

/** A `KVBackendStore` over a connected `RedisBackend` (URL: standalone or cluster). */
export async function kvRedisStore(
  url: string,
  options: { autoPipelining?: boolean } = {},
): Promise<RedisStore> {
  const { RedisBackend } = await import("@kv/redis");
  const backend = new RedisBackend({ url, ...options });
  // The first call waits for the connection; make it before anything is timed.
  await backend.exists("warm-up");
  // The same adapter as the in-process rows: every operation is the backend's own.
  return new KVBackendStore(backend);
}
