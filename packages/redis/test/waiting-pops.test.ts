import { startProxy } from "@kv/fault-proxy";
import { type RedisServer, redisCommand, startRedis } from "@kv/redis-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wakeChannel } from "../src/exactly-once/side-keys.js";
import { RedisBackend } from "../src/index.js";
import { deployments, haveRedis, sleep, uniquePrefix, userWithoutChannels } from "./helpers.js";

/** Waiting pops on Redis: woken by pub/sub, no polling (README "Waiting pops"). */
describe.skipIf(!haveRedis)("waiting pops without polling", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function commandCount(): Promise<number> {
    const info = String(await redisCommand(server.port, "INFO", "commandstats"));
    let total = 0;
    for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
      if (!m[1]!.startsWith("info") && !m[1]!.startsWith("config")) total += Number(m[2]);
    }
    return total;
  }

  /** Until the server counts a subscriber on `channel` (within 40 s). */
  async function subscribed(channel: string): Promise<void> {
    for (let waited = 0; ; waited += 20) {
      const reply = (await redisCommand(server.port, "PUBSUB", "NUMSUB", channel)) as unknown[];
      if (Number(reply[1]) > 0) return;
      if (waited > 40_000) throw new Error(`no subscriber on ${JSON.stringify(channel)} in 40 s`);
      await sleep(20);
    }
  }

  it("100 idle waiters send no command while they wait", async () => {
    const kv = new RedisBackend({ url: server.url, prefix: uniquePrefix("idle") });
    try {
      const waits = Array.from({ length: 100 }, (_, i) =>
        kv.listPopAll(`inbox:${i}`, { waitSeconds: 30 }),
      );
      // close() rejects the others with KV_CLOSED.
      for (const [i, wait] of waits.entries()) if (i !== 7) wait.catch(() => undefined);
      await sleep(500); // every waiter subscribed and made its first pop
      await redisCommand(server.port, "CONFIG", "RESETSTAT");
      await sleep(2000);
      const idle = await commandCount();
      expect(idle).toBe(0);
      console.info(`100 idle waiters for 2 s: ${idle} commands`);
      await kv.listAppendUnique("inbox:7", [{ id: 1 }]);
      expect(await waits[7]).toEqual([{ id: 1 }]);
    } finally {
      await kv.close();
    }
  });

  it("a subscriber connection killed mid-wait: it reconnects and the waiter still gets the items", async () => {
    const prefix = uniquePrefix("resub");
    const kv = new RedisBackend({ url: server.url, prefix, commandTimeoutMs: 1000 });
    const producer = new RedisBackend({ url: server.url, prefix });
    try {
      const wait = kv.listPopAll("inbox", { waitSeconds: 20 });
      await sleep(300);
      expect(Number(await redisCommand(server.port, "CLIENT", "KILL", "TYPE", "pubsub"))).toBe(1);
      // Appended while the subscriber is away: its message is lost, the items are not.
      await producer.listAppendUnique("inbox", [{ id: "x" }]);
      const start = performance.now();
      expect(await wait).toEqual([{ id: "x" }]);
      console.info(
        `after a subscriber kill: items reached the waiter in ${(performance.now() - start).toFixed(0)} ms`,
      );
    } finally {
      await producer.close();
      await kv.close();
    }
  });

  it("a SUBSCRIBE whose reply a dropped connection took: sent again, and the waiter is woken", async () => {
    const proxy = await startProxy({ target: { host: server.host, port: server.port } });
    const prefix = uniquePrefix("resub-lost");
    const kv = new RedisBackend({ url: proxy.url, prefix, commandTimeoutMs: 1000 });
    const producer = new RedisBackend({ url: server.url, prefix });
    try {
      // Both connections up (a short wait opens the subscriber connection).
      expect(await kv.listPopAll("warm", { waitSeconds: 0.1 })).toEqual([]);
      // Replies held (the proxy does not frame pub/sub, so it cannot drop one alone): the
      // server takes the waiter's SUBSCRIBE, its answer waits in the proxy, and every
      // connection is reset before it leaves.
      proxy.delayReplies(60_000); // never released: resetAll() below discards them
      const wait = kv.listPopAll("inbox", { waitSeconds: 20 });
      const channel = wakeChannel(`${prefix}inbox`);
      await subscribed(channel);
      proxy.resetAll();
      proxy.delayReplies(0);
      // The reconnection: before, that SUBSCRIBE was never sent again (nor settled).
      await sleep(500);
      await subscribed(channel);
      const appended = performance.now();
      await producer.listAppendUnique("inbox", [{ id: "x" }]);
      expect(await wait).toEqual([{ id: "x" }]);
      const ms = performance.now() - appended;
      console.info(
        `a lost SUBSCRIBE reply: the waiter got the items ${ms.toFixed(0)} ms after the append`,
      );
      // Woken by the wake-up, not by the 20 s deadline.
      expect(ms).toBeLessThan(10_000);
    } finally {
      await producer.close();
      await kv.close();
      await proxy.close();
    }
  });

  it("an ACL user without channel rights (Redis 7's default for new users): writes succeed, waits poll", async () => {
    const user = await userWithoutChannels(server.port);
    const prefix = uniquePrefix("acl");
    const kv = new RedisBackend({ url: user.url, prefix });
    try {
      // Each of these scripts publishes a wake-up (a filled list), which the server refuses.
      await kv.set("filled", [{ id: 0 }]);
      await kv.mset([
        ["a", [1]],
        ["b", [2]],
      ]);
      expect(await kv.listAppendUnique("inbox", [{ id: 1 }])).toEqual([{ id: 1 }]);
      expect(await kv.listPopAll("inbox")).toEqual([{ id: 1 }]);

      // Its subscription is refused too: the wait polls, and ends soon after the append.
      const wait = kv.listPopAll("inbox", { waitSeconds: 20 });
      await sleep(300);
      const appended = performance.now();
      await kv.listAppendUnique("inbox", [{ id: 2 }]);
      expect(await wait).toEqual([{ id: 2 }]);
      const ms = performance.now() - appended;
      console.info(
        `ACL user without channels: a waiting pop got the items ${ms.toFixed(0)} ms after the append`,
      );
      // Polls at most 250 ms apart: far below the 20 s wait, even on a loaded machine.
      expect(ms).toBeLessThan(10_000);

      // Rights granted while a wait polls: its subscription, asked again (1 s, 2 s, 4 s…
      // after the refusal), now holds, and the polling stops: an idle second sends no
      // command.
      const second = kv.listPopAll("inbox", { waitSeconds: 60 });
      await sleep(200);
      await redisCommand(server.port, "ACL", "SETUSER", user.name, "&*");
      await subscribed(wakeChannel(`${prefix}inbox`));
      await sleep(300); // the subscription's answer on its way back: polling stops there
      await redisCommand(server.port, "CONFIG", "RESETSTAT");
      await sleep(1000);
      expect(await commandCount(), "commands in an idle second once subscribed").toBe(0);
      await kv.listAppendUnique("inbox", [{ id: 3 }]);
      expect(await second).toEqual([{ id: 3 }]);
    } finally {
      await kv.close();
      await user.remove();
    }
  });

  it.each(deployments)("wake-up latency from another client's append ($name)", async ({ url }) => {
    const prefix = uniquePrefix("latency");
    const kv = new RedisBackend({ url: url(), prefix });
    const producer = new RedisBackend({ url: url(), prefix });
    try {
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        const wait = kv.listPopAll(`inbox:${i % 3}`, { waitSeconds: 10 });
        await sleep(5);
        const start = performance.now();
        await producer.listAppendUnique(`inbox:${i % 3}`, [{ id: i }]);
        expect(await wait).toEqual([{ id: i }]);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      const p99 = times[Math.floor(times.length * 0.99)]!;
      console.info(
        `waiting pop, append → items (${url().split(":")[0]}): median ${median.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
      );
      // Generous: a loaded 2-core machine; the figure above is what counts.
      expect(median).toBeLessThan(200);
    } finally {
      await producer.close();
      await kv.close();
    }
  });
});
