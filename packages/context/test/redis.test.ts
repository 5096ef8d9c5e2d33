// redis://, rediss:// and redis-cluster:// URLs reach real servers (started here, on
// loopback, and stopped by pid). Without redis-server the tests are skipped loudly,
// except in CI, where they must run.
import { isKVError, type KVBackend, type KVError } from "@kv/core";
import {
  type RedisCluster,
  type RedisServer,
  redisCommand,
  requireRedisOrSkip,
  startRedis,
  startRedisCluster,
} from "@kv/redis-harness";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKV } from "../src/index.js";

const redis = requireRedisOrSkip();
const opened: KVBackend[] = [];
async function open(url: string): Promise<KVBackend> {
  const kv = await createKV(url);
  opened.push(kv);
  return kv;
}
afterEach(async () => {
  for (const kv of opened.splice(0)) await kv.close();
});

async function failure(promise: Promise<unknown>): Promise<KVError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKVError(err)) throw new Error(`expected a KVError, got ${String(err)}`);
  return err;
}

describe.skipIf(!redis.available)("redis:// and rediss://", () => {
  let server: RedisServer;
  let secured: RedisServer;
  beforeAll(async () => {
    [server, secured] = await Promise.all([startRedis(), startRedis()]);
    // Set after start: the harness checks that a server is up with an unauthenticated PING.
    await redisCommand(secured.port, "CONFIG", "SET", "requirepass", "s3cr:et/");
  }, 30_000);
  afterAll(async () => {
    await Promise.all([server?.stop(), secured?.stop()]);
  });

  it("applies the prefix and the database number", async () => {
    const db1 = await open(`redis://127.0.0.1:${server.port}/1?prefix=ctx:`);
    await db1.set("greeting", { text: "hello" });
    expect(await db1.get("greeting")).toEqual({ text: "hello" });
    expect(await db1.scanPrefix("")).toEqual(["greeting"]);
    // Database 0 holds nothing of it, under the prefix or not.
    const db0 = await open(`redis://127.0.0.1:${server.port}`);
    expect(await db0.get("ctx:greeting")).toBeUndefined();
    const db1Raw = await open(`redis://127.0.0.1:${server.port}/1`);
    expect(await db1Raw.get("ctx:greeting")).toEqual({ text: "hello" });
    await db1.delete("greeting");
  });

  it("passes the timeouts and maxValueBytes as typed options", async () => {
    const kv = await open(
      `redis://127.0.0.1:${server.port}?maxValueBytes=8&commandTimeoutMs=2000&connectTimeoutMs=2000`,
    );
    expect((await failure(kv.set("big", "123456789"))).code).toBe("KV_VALUE_TOO_LARGE");
    expect(
      (await failure(createKV(`redis://127.0.0.1:${server.port}?commandTimeoutMs=0`))).message,
    ).toMatch(/commandTimeoutMs must be a positive integer/);
  });

  it("logs in with a percent-encoded password", async () => {
    const kv = await open(`redis://:${encodeURIComponent("s3cr:et/")}@127.0.0.1:${secured.port}`);
    await kv.set("k", 1);
    expect(await kv.get("k")).toBe(1);
  });

  it("fails with KV_UNAVAILABLE on a wrong password, never showing it", async () => {
    const kv = await open(
      `redis://:wrong-hunter2@127.0.0.1:${secured.port}?commandTimeoutMs=1000&connectTimeoutMs=1000`,
    );
    const err = await failure(kv.get("k"));
    expect(err.code).toBe("KV_UNAVAILABLE");
    expect(`${err.message} ${String(err.cause)}`).not.toContain("hunter2");
  });

  it("speaks TLS for rediss:// (a plaintext server cannot answer it)", async () => {
    const kv = await open(
      `rediss://127.0.0.1:${server.port}?commandTimeoutMs=1000&connectTimeoutMs=1000`,
    );
    expect((await failure(kv.get("k"))).code).toBe("KV_UNAVAILABLE");
  });

  it("rejects an unknown option before connecting, listing the valid ones", async () => {
    expect((await failure(createKV(`redis://127.0.0.1:${server.port}?db=2`))).message).toBe(
      `createKV: unknown option for redis://, valid options: prefix, maxValueBytes, commandTimeoutMs, connectTimeoutMs, autoPipelining, nearCache (got "db" in "redis://127.0.0.1:${server.port}?db=2")`,
    );
  });
});

describe.skipIf(!redis.available)("redis-cluster://", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("reaches every node: a batch across hash slots, with the prefix", async () => {
    const kv = await open(`${cluster.url}?prefix=ctx:`);
    const entries = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key-${i}`, i]));
    await kv.mset(entries, { ttlSeconds: 60 });
    expect(await kv.mget(Object.keys(entries))).toEqual(Object.values(entries));
    expect(await kv.scanPrefix("key-", { limit: 100 })).toEqual(Object.keys(entries).sort());
    await kv.listAppendUnique("inbox", [{ id: 1 }, { id: 1 }, { id: 2 }]);
    expect(await kv.listPopAll("inbox")).toEqual([{ id: 1 }, { id: 2 }]);
  }, 30_000);
});
