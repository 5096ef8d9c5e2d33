import { setTimeout as sleep } from "node:timers/promises";
import { type RedisServer, redisCommand, startRedis } from "@kv/redis-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { haveRedis, uniquePrefix, userWithoutChannels } from "./helpers.js";

/**
 * README "What the server must keep": each backend checks its server once when it first
 * connects, and a server that cannot keep the guarantees gets one process warning.
 */
describe.skipIf(!haveRedis)("server checks", () => {
  const warnings: (Error & { code?: string })[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  const warned = (code: string) => warnings.filter((w) => w.code === code);

  beforeAll(() => {
    process.on("warning", onWarning);
  });
  afterAll(() => {
    process.off("warning", onWarning);
  });

  /** Calls of `command` the server ran, not counting the INFO calls that read them. */
  function commandCounter(port: number, command: string) {
    let reads = 0;
    return async () => {
      const info = String(await redisCommand(port, "INFO", "commandstats"));
      const calls = Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return command === "info" ? calls - reads++ : calls;
    };
  }

  /**
   * A backend on `server` that has run its checks: the server saw the check's command
   * (an `INFO` after ioredis's own ready check, which is one too; or its `PUBLISH`).
   */
  async function checkedBackend(server: RedisServer, command: "info" | "publish") {
    const counter = commandCounter(server.port, command);
    const expected = (await counter()) + (command === "info" ? 2 : 1);
    const kv = new RedisBackend({ url: server.url, prefix: uniquePrefix("checks") });
    await kv.get("any");
    for (let waited = 0; (await counter()) < expected; waited += 20) {
      if (waited > 10_000) throw new Error(`the backend sent no ${command} within 10 s`);
      await sleep(20);
    }
    await sleep(50); // the reply on its way back, then the warning
    return kv;
  }

  describe("eviction policy", () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedis({ args: ["--maxmemory", "256mb"] });
    });
    afterAll(async () => {
      await server?.stop();
    });
    const policy = (value: string) =>
      redisCommand(server.port, "CONFIG", "SET", "maxmemory-policy", value);
    const code = "KV_REDIS_EVICTION";

    it("noeviction, or no maxmemory: no warning", async () => {
      await policy("noeviction");
      await (await checkedBackend(server, "info")).close();
      await policy("allkeys-lru");
      await redisCommand(server.port, "CONFIG", "SET", "maxmemory", "0"); // never evicts
      try {
        await (await checkedBackend(server, "info")).close();
      } finally {
        await redisCommand(server.port, "CONFIG", "SET", "maxmemory", "256mb");
      }
      expect(warned(code)).toHaveLength(0);
    });

    it("allkeys-* with a maxmemory: one warning per server, naming it and the policy", async () => {
      await policy("allkeys-lru");
      const first = await checkedBackend(server, "info");
      const second = await checkedBackend(server, "info");
      await first.close();
      await second.close();
      expect(warned(code)).toHaveLength(1);
      const [warning] = warned(code);
      expect(warning!.name).toBe("KVWarning");
      expect(warning!.message).toContain("allkeys-lru");
      expect(warning!.message).toContain(`127.0.0.1:${server.port}`);
      expect(warning!.message).toContain("in-flight pops");
    });

    it("volatile-*: warned too (idempotency records have a TTL), on another server", async () => {
      const other = await startRedis({ args: ["--maxmemory", "256mb"] });
      try {
        await redisCommand(other.port, "CONFIG", "SET", "maxmemory-policy", "volatile-lru");
        await (await checkedBackend(other, "info")).close();
        const mine = warned(code).filter((w) => w.message.includes(`:${other.port}`));
        expect(mine).toHaveLength(1);
        expect(mine[0]!.message).toContain("volatile-lru");
        expect(mine[0]!.message).toContain("idempotency records");
      } finally {
        await other.stop();
      }
    });
  });

  describe("wake-up rights", () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(async () => {
      await server?.stop();
    });
    const code = "KV_REDIS_NO_PUBLISH";

    it("a user allowed to publish: no warning; one without channel rights: warned once", async () => {
      await (await checkedBackend(server, "publish")).close();
      expect(warned(code)).toHaveLength(0);

      const user = await userWithoutChannels(server.port);
      const kv = new RedisBackend({ url: user.url, prefix: uniquePrefix("checks") });
      try {
        await kv.set("filled", [1]); // the write itself succeeds
        for (let waited = 0; warned(code).length === 0 && waited < 10_000; waited += 20) {
          await sleep(20);
        }
        expect(warned(code)).toHaveLength(1);
        expect(warned(code)[0]!.message).toContain("Grant channel rights");
      } finally {
        await kv.close();
        await user.remove();
      }
    });
  });
});
