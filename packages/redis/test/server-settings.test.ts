import { setTimeout as sleep } from "node:timers/promises";
import { type RedisServer, redisCommand, startRedis } from "@kv/redis-harness";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { haveRedis, uniquePrefix } from "./helpers.js";

/** README "What the server must keep": a server that may evict any key is reported. */
describe.skipIf(!haveRedis)("server settings", () => {
  let server: RedisServer;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  const evictionWarnings = () =>
    warnings.filter((w) => (w as Error & { code?: string }).code === "KV_REDIS_EVICTION");

  beforeAll(async () => {
    server = await startRedis();
    process.on("warning", onWarning);
  });
  afterAll(async () => {
    process.off("warning", onWarning);
    await server?.stop();
  });
  afterEach(async () => {
    await redisCommand(server.port, "CONFIG", "SET", "maxmemory-policy", "noeviction");
  });

  /** Waits until `count` eviction warnings came, or 5 s. */
  async function evictionWarningsAfter(kv: RedisBackend): Promise<Error[]> {
    await kv.get("any"); // connected: the check runs once, in the background
    for (let waited = 0; waited < 5000 && evictionWarnings().length === 0; waited += 20) {
      await sleep(20);
    }
    await sleep(100); // and a moment more, for a second warning that must not come
    return evictionWarnings();
  }

  it("warns once per server when it may evict any key (allkeys-*), and names the policy", async () => {
    await redisCommand(server.port, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    const first = new RedisBackend({ url: server.url, prefix: uniquePrefix("evict") });
    const second = new RedisBackend({ url: server.url, prefix: uniquePrefix("evict") });
    try {
      const seen = await evictionWarningsAfter(first);
      await evictionWarningsAfter(second);
      expect(seen).toHaveLength(1);
      expect(evictionWarnings()).toHaveLength(1);
      expect(seen[0]!.message).toContain("allkeys-lru");
      expect(seen[0]!.message).toContain(`127.0.0.1:${server.port}`);
      expect(seen[0]!.name).toBe("KVWarning");
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("says nothing under a volatile-* policy (it never evicts the in-flight records: no TTL)", async () => {
    // Another server: the one above was warned about already, once per process.
    const quiet = await startRedis({ args: ["--maxmemory-policy", "volatile-lru"] });
    const before = evictionWarnings().length;
    const kv = new RedisBackend({ url: quiet.url, prefix: uniquePrefix("quiet") });
    try {
      await kv.get("any");
      await sleep(500);
      expect(evictionWarnings()).toHaveLength(before);
      // The same server turned to allkeys-*: a new backend on it warns (the check works here).
      await redisCommand(quiet.port, "CONFIG", "SET", "maxmemory-policy", "allkeys-random");
      const another = new RedisBackend({ url: quiet.url, prefix: uniquePrefix("quiet") });
      try {
        await evictionWarningsAfter(another);
        expect(evictionWarnings()).toHaveLength(before + 1);
      } finally {
        await another.close();
      }
    } finally {
      await kv.close();
      await quiet.stop();
    }
  });
});
