import { KVBackendStore } from "../subjects/kv-backend.js";
import type { RedisSubject } from "./types.js";

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
      // The same adapter as the in-process rows: every operation is the backend's own.
      return new KVBackendStore(backend);
    },
  };
}
