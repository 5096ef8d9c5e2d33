import { createServer, type Server, type Socket } from "node:net";
import { inspect } from "node:util";
import { isKVError, type KVError } from "@kv/core";
import {
  freePort,
  type RedisCluster,
  type RedisServer,
  redisCommand,
  startRedis,
  startRedisCluster,
} from "@kv/redis-harness";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { hashSlot, RedisBackend } from "../src/index.js";
import { haveRedis, sleep } from "./helpers.js";

/** Each test gets its own server: these tests kill, restart and flush it. */
const servers: RedisServer[] = [];
const backends: RedisBackend[] = [];
async function server(args?: string[]): Promise<RedisServer> {
  const s = await startRedis(args === undefined ? {} : { args });
  servers.push(s);
  return s;
}
function backend(...args: ConstructorParameters<typeof RedisBackend>): RedisBackend {
  const kv = new RedisBackend(...args);
  backends.push(kv);
  return kv;
}

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** The rejection of `promise` and how long it took to come. */
async function timedRejection(promise: Promise<unknown>): Promise<{ err: KVError; ms: number }> {
  const start = performance.now();
  const err = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  const ms = performance.now() - start;
  if (!isKVError(err)) throw err;
  return { err, ms };
}

/** Retries `fn` until it resolves (the backend reconnecting in the background). */
async function eventually<T>(fn: () => Promise<T>, withinMs = 10_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

// The bound the contract promises: a call rejects within the configured timeout. Timers
// on a loaded machine fire late, so the check allows that lateness, not more waiting.
const TIMEOUT_MS = 1000;
const TIMER_SLACK_MS = 1000;

describe.skipIf(!haveRedis)("failures", () => {
  it("server killed mid-run: every call rejects KV_UNAVAILABLE within the timeout; after a restart the same backend works", async () => {
    const s = await server();
    const kv = backend({ url: s.url, commandTimeoutMs: TIMEOUT_MS });
    await kv.set("k", 1);
    // Traffic in flight while the server dies.
    const inFlight = Array.from({ length: 50 }, (_, i) =>
      kv.incr(`n${i % 5}`).catch((e: unknown) => e),
    );
    await s.kill();
    for (const outcome of await Promise.all(inFlight)) {
      if (typeof outcome !== "number") expect(isKVError(outcome, "KV_UNAVAILABLE")).toBe(true);
    }
    const timings: number[] = [];
    for (const call of [
      () => kv.get("k"),
      () => kv.set("k", 2),
      () => kv.listAppendUnique("l", [{ id: 1 }]),
      () => kv.listPopAll("l"),
      () => kv.mget(["a", "b"]),
      () => kv.mset({ a: 1 }, { ttlSeconds: 5 }),
      () => kv.incr("n"),
      () => kv.scanPrefix(""),
      () => kv.ttl("k"),
      () => kv.expire("k", 1),
      () => kv.exists("k"),
      () => kv.delete("k"),
    ]) {
      const { err, ms } = await timedRejection(call());
      expect(err.code).toBe("KV_UNAVAILABLE");
      expect(err.cause).toBeDefined();
      timings.push(ms);
    }
    expect(Math.max(...timings)).toBeLessThan(TIMEOUT_MS + TIMER_SLACK_MS);
    console.info(
      `server down: calls rejected in ${timings.map((t) => t.toFixed(1)).join(", ")} ms`,
    );

    await s.restart();
    await eventually(() => kv.set("k", 3));
    expect(await kv.get("k")).toBe(3);
    expect(await kv.listAppendUnique("l", [{ id: 1 }])).toEqual([{ id: 1 }]);
  });

  it("a server that accepts but never answers: KV_UNAVAILABLE after the timeout, not a hang", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
    try {
      const kv = backend({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 300 });
      const { err, ms } = await timedRejection(kv.get("k"));
      expect(err.code).toBe("KV_UNAVAILABLE");
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(300 + TIMER_SLACK_MS);
      console.info(`silent server: rejected after ${ms.toFixed(1)} ms (timeout 300)`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("nothing listening: KV_UNAVAILABLE at once, with the connection error as cause", async () => {
    const port = await freePort();
    const kv = backend({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 5000 });
    const { err, ms } = await timedRejection(kv.get("k"));
    expect(err.code).toBe("KV_UNAVAILABLE");
    expect(String((err.cause as Error).message)).toMatch(/ECONNREFUSED/);
    expect(ms).toBeLessThan(5000);
    // With nothing owed to the server, close() does not wait for it (it waits, up to the
    // budget, only to deliver what finished pops owe).
    const closing = performance.now();
    await kv.close();
    expect(performance.now() - closing).toBeLessThan(2500);
  });

  it("CLIENT KILL: the backend reconnects by itself", async () => {
    const s = await server();
    const kv = backend({ url: s.url, commandTimeoutMs: TIMEOUT_MS });
    await kv.set("k", 1);
    for (let round = 0; round < 3; round++) {
      expect(Number(await redisCommand(s.port, "CLIENT", "KILL", "TYPE", "normal"))).toBe(1);
      // Once the client has seen the connection drop, a call waits for the reconnection
      // instead of failing. (A call racing the kill itself may fail: it was in flight.)
      while (kv.client.status === "ready") await sleep(1);
      expect(await kv.get("k")).toBe(1);
      expect(await kv.incr("n")).toBe(round + 1);
    }
  });

  it("SCRIPT FLUSH: scripts are sent again transparently", async () => {
    const s = await server();
    const kv = backend({ url: s.url });
    await kv.listAppendUnique("l", [{ id: 1 }]);
    await kv.incr("n");
    expect(await redisCommand(s.port, "SCRIPT", "FLUSH")).toBe("OK");
    expect(await kv.listAppendUnique("l", [{ id: 2 }])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await kv.incr("n")).toBe(2);
    expect(await kv.listPopAll("l")).toHaveLength(2);
    await kv.mset({ a: 1 }, { ttlSeconds: 10 });
    expect(await kv.get("a")).toBe(1);
  });

  it("restart (SIGTERM, then start): the same backend works again", async () => {
    const s = await server();
    const kv = backend({ url: s.url, commandTimeoutMs: TIMEOUT_MS });
    await kv.set("k", 1);
    await s.restart();
    await eventually(() => kv.set("k", 2));
    expect(await kv.get("k")).toBe(2);
  });

  it("never shows a password: not in messages, not in causes", async () => {
    const s = await server(["--requirepass", "s3cret-pass"]);
    const wrong = backend({
      url: `redis://:wr0ng-pass@127.0.0.1:${s.port}`,
      commandTimeoutMs: TIMEOUT_MS,
    });
    const { err } = await timedRejection(wrong.get("k"));
    expect(err.code).toBe("KV_UNAVAILABLE");
    const everything = inspect(err, { depth: 20, showHidden: true }) + JSON.stringify(err);
    expect(everything).not.toContain("wr0ng-pass");
    expect(everything).toContain("WRONGPASS");

    const right = backend({
      url: `redis://:s3cret-pass@127.0.0.1:${s.port}`,
      commandTimeoutMs: TIMEOUT_MS,
    });
    await right.set("k", 1);
    await s.kill();
    const down = await timedRejection(right.get("k"));
    expect(inspect(down.err, { depth: 20, showHidden: true })).not.toContain("s3cret-pass");
  });

  it("a caller's client: used as it is, left open by close(), and keyPrefix refused", async () => {
    const s = await server();
    const mine = new Redis({ port: s.port, lazyConnect: true });
    const kv = backend({ client: mine, commandTimeoutMs: TIMEOUT_MS });
    expect(await kv.incr("n")).toBe(1);
    await kv.close();
    expect(await mine.get("n")).toBe("1");
    mine.disconnect();
    const prefixed = new Redis({ port: s.port, keyPrefix: "x:", lazyConnect: true });
    expect(() => new RedisBackend({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });

  it("cluster: a master lost mid-run fails its keys (and scanPrefix) within the timeout", async () => {
    const cluster: RedisCluster = await startRedisCluster();
    try {
      const kv = backend({ url: cluster.url, commandTimeoutMs: TIMEOUT_MS });
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      await kv.mset(keys.map((k) => [k, 1] as const));
      const victim = cluster.nodes[0]!;
      const slots = (await redisCommand(victim.port, "CLUSTER", "SLOTS")) as [
        number,
        number,
        [string, number],
      ][];
      const mine = slots.find((r) => r[2][1] === victim.port)!;
      const lost = keys.filter((k) => hashSlot(k) >= mine[0] && hashSlot(k) <= mine[1]);
      expect(lost.length).toBeGreaterThan(0);
      await redisCommand(victim.port, "SHUTDOWN", "NOSAVE").catch(() => undefined);

      const timings: number[] = [];
      for (const key of lost.slice(0, 3)) {
        const { err, ms } = await timedRejection(kv.get(key));
        expect(err.code).toBe("KV_UNAVAILABLE");
        timings.push(ms);
      }
      const scan = await timedRejection(kv.scanPrefix(""));
      expect(scan.err.code).toBe("KV_UNAVAILABLE");
      timings.push(scan.ms);
      expect(Math.max(...timings)).toBeLessThan(TIMEOUT_MS + TIMER_SLACK_MS);
      console.info(
        `cluster master lost: calls rejected in ${timings.map((t) => t.toFixed(1)).join(", ")} ms`,
      );
    } finally {
      await cluster.stop();
    }
  });
});
