import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type RedisServer, redisCommand, startRedis } from "@kv/redis-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { haveRedis, sleep } from "./helpers.js";

/** Longer than the acknowledgement delay of a pop (exactly-once/pops.ts ACK_DELAY_MS). */
const ACK_WAIT_MS = 150;

/**
 * "One round trip" shown, not claimed: the commands our client sends (ioredis's
 * diagnostics channel) and what the server counted (INFO commandstats), per operation.
 */
describe.skipIf(!haveRedis)("round trips per operation", () => {
  let server: RedisServer;
  let kv: RedisBackend;
  const sent: string[] = [];
  const onCommand = (message: unknown) => {
    sent.push((message as { command: string }).command.toUpperCase());
  };

  beforeAll(async () => {
    server = await startRedis();
    kv = new RedisBackend({ url: server.url });
    await kv.exists("warm-up"); // connect: HELLO, INFO (ready check) are not the op's
    subscribe("tracing:ioredis:command:start", onCommand);
  });
  afterAll(async () => {
    unsubscribe("tracing:ioredis:command:start", onCommand);
    await kv?.close();
    await server?.stop();
  });

  /** Runs `op` alone and returns the commands the client sent and the server's counts. */
  async function measure(op: () => Promise<unknown>) {
    await sleep(ACK_WAIT_MS); // a pop's deferred acknowledgement is not the next op's
    await redisCommand(server.port, "CONFIG", "RESETSTAT");
    sent.length = 0;
    await op();
    const commands = [...sent];
    const info = String(await redisCommand(server.port, "INFO", "commandstats"));
    const stats: Record<string, number> = {};
    for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
      if (m[1] !== "config|resetstat") stats[m[1]!] = Number(m[2]);
    }
    return { commands, stats };
  }

  const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, { i }]));
  const keys = Object.keys(hundred);

  it("every operation is one command on the wire (scripts once cached)", async () => {
    // Cache the scripts first: the very first run on a server is EVALSHA, NOSCRIPT, EVAL.
    await kv.set("warm", 1);
    await kv.delete("warm");
    await kv.expire("warm", 1);
    await kv.listAppendUnique("warm", [{ id: 0 }]);
    await kv.listPopAll("warm");
    await kv.incr("warm");
    await kv.mset({ warm: 1 }, { ttlSeconds: 10 });
    await sleep(ACK_WAIT_MS); // the warm-up pop's acknowledgement goes out on its own

    // Every write is a script (it carries its request id: README "Exactly once"); its
    // idempotency record is one more SET inside the same script, not a round trip.
    const cases: [string, () => Promise<unknown>, string][] = [
      ["get", () => kv.get("k"), "GET"],
      ["set", () => kv.set("k", { a: 1 }), "EVALSHA"],
      ["set with TTL", () => kv.set("k", 1, { ttlSeconds: 5 }), "EVALSHA"],
      ["delete", () => kv.delete("k"), "EVALSHA"],
      ["exists", () => kv.exists("k"), "EXISTS"],
      ["ttl", () => kv.ttl("k"), "PTTL"],
      ["expire", () => kv.expire("k", 5), "EVALSHA"],
      ["incr", () => kv.incr("n"), "EVALSHA"],
      [
        "listAppendUnique",
        () => kv.listAppendUnique("l", [{ id: 1 }, { id: 2 }, { id: 3 }]),
        "EVALSHA",
      ],
      ["listPopAll", () => kv.listPopAll("l"), "EVALSHA"],
      ["mget(100)", () => kv.mget(keys), "MGET"],
      ["mset(100)", () => kv.mset(hundred), "EVALSHA"],
      ["mset(100) with TTL", () => kv.mset(hundred, { ttlSeconds: 60 }), "EVALSHA"],
    ];
    const report: string[] = [];
    for (const [name, op, command] of cases) {
      const { commands, stats } = await measure(op);
      expect(commands, name).toEqual([command]);
      expect(stats[command.toLowerCase()], name).toBe(1);
      report.push(`${name}: ${commands.join(",")} (server: ${JSON.stringify(stats)})`);
    }
    const { stats: msetStats } = await measure(() => kv.mset(hundred, { ttlSeconds: 60 }));
    expect(msetStats).toEqual({ evalsha: 1, set: 101 });
    const { stats: plainMset } = await measure(() => kv.mset(hundred));
    expect(plainMset).toEqual({ evalsha: 1, mset: 1, set: 1 });
    console.info(report.join("\n"));
  });

  it("a pop's acknowledgement rides on the next pop of the key, or goes shortly after with the others", async () => {
    await kv.listAppendUnique("inbox", [{ id: 1 }]);
    await kv.listPopAll("inbox");
    // The next pop of the same key carries it: still one command.
    await kv.listAppendUnique("inbox", [{ id: 2 }]);
    const next = await measure(() => kv.listPopAll("inbox"));
    expect(next.commands).toEqual(["EVALSHA"]);
    // Left alone, the acknowledgements of every key go out a moment later as one script
    // call, off the callers' path.
    await kv.listAppendUnique("a", [{ id: 1 }]);
    await kv.listAppendUnique("b", [{ id: 1 }]);
    const pops = await measure(async () => {
      await Promise.all([kv.listPopAll("a"), kv.listPopAll("b")]);
      await sleep(ACK_WAIT_MS);
    });
    expect(pops.commands).toEqual(["EVALSHA", "EVALSHA", "EVALSHA"]);
    expect(pops.stats).toMatchObject({ evalsha: 3, hdel: 2 });
  });

  it("after SCRIPT FLUSH a script costs one extra round trip, once", async () => {
    await redisCommand(server.port, "SCRIPT", "FLUSH");
    expect((await measure(() => kv.listAppendUnique("f", [{ id: 1 }]))).commands).toEqual([
      "EVALSHA",
      "EVAL",
    ]);
    expect((await measure(() => kv.listAppendUnique("f", [{ id: 2 }]))).commands).toEqual([
      "EVALSHA",
    ]);
  });
});
