import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSlot, parseRedisUrl, RedisBackend } from "../src/index.js";
import { clusterUrl, haveRedis, uniquePrefix } from "./helpers.js";

describe.skipIf(!haveRedis)("Redis Cluster", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = new Cluster(parseRedisUrl(clusterUrl).nodes);
    await cluster.ping();
  });
  afterAll(() => {
    cluster.disconnect();
  });

  /** The port of the master that holds `key`. */
  async function nodeOf(key: string): Promise<number> {
    const slot = hashSlot(key);
    const ranges = await cluster.cluster("SLOTS");
    const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    return range[2]![1];
  }

  it("computes the same hash slot as CLUSTER KEYSLOT", async () => {
    const keys = [
      "a",
      "user:1000",
      "{user1000}.following",
      "foo{}{bar}",
      "foo{{bar}}zap",
      "foo{bar}{zap}",
      "{}",
      "}{x}",
      "ключ",
      "😀{😀}",
      "\u0000\uffff",
      "x".repeat(1000),
    ];
    for (let i = 0; i < 200; i++) keys.push(`k${i}:${String.fromCharCode(40 + i)}`);
    const node = cluster.nodes("master")[0]!;
    for (const key of keys) {
      expect(hashSlot(key), key).toBe(Number(await node.cluster("KEYSLOT", key)));
    }
  });

  it("runs mget/mset over keys on every master instead of failing with CROSSSLOT", async () => {
    const prefix = uniquePrefix();
    const kv = new RedisBackend({ url: clusterUrl, prefix });
    const keys = Array.from({ length: 60 }, (_, i) => `key${i}`);
    const ports = new Set(await Promise.all(keys.map((k) => nodeOf(prefix + k))));
    expect(ports.size).toBe(3);
    await kv.mset(keys.map((k, i) => [k, { i }] as const));
    expect(await kv.mget([...keys, "missing", keys[0]!])).toEqual([
      ...keys.map((_, i) => ({ i })),
      undefined,
      { i: 0 },
    ]);
    await kv.mset(
      keys.map((k) => [k, 0] as const),
      { ttlSeconds: 60 },
    );
    expect(new Set(await kv.mget(keys))).toEqual(new Set([0]));
    expect((await kv.scanPrefix("key")).length).toBe(60);
    await kv.close();
  });

  it("keeps an mset of keys sharing a hash tag atomic: readers never see half of it", async () => {
    const prefix = uniquePrefix();
    const kv = new RedisBackend({ url: clusterUrl, prefix });
    const reader = new RedisBackend({ url: clusterUrl, prefix });
    const keys = Array.from({ length: 20 }, (_, i) => `{order:7}:line${i}`);
    await kv.mset(keys.map((k) => [k, 0] as const));
    let torn = 0;
    let reads = 0;
    let writing = true;
    const writer = (async () => {
      for (let v = 1; v <= 200; v++) await kv.mset(keys.map((k) => [k, v] as const));
      writing = false;
    })();
    while (writing) {
      const values = await reader.mget(keys);
      reads++;
      if (new Set(values).size !== 1) torn++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    expect(torn).toBe(0);
    await Promise.all([kv.close(), reader.close()]);
  });

  it("sends a batch as one pipeline per master: one round trip each, one command per slot", async () => {
    const prefix = uniquePrefix();
    const kv = new RedisBackend({ url: clusterUrl, prefix });
    const keys = Array.from({ length: 1000 }, (_, i) => `batch${i}`);
    await kv.mset(keys.map((k, i) => [k, { i }] as const)); // scripts cached, connected
    await kv.mget(keys);
    const masters = (kv.client as Cluster).nodes("master");
    expect(masters.length).toBe(3);
    const slotsOf = new Map<string, Set<number>>();
    for (const k of keys) {
      const slot = hashSlot(prefix + k);
      const node = (kv.client as Cluster).slots[slot]![0]!;
      if (!slotsOf.has(node)) slotsOf.set(node, new Set());
      slotsOf.get(node)!.add(slot);
    }
    // Writes on each master's socket during one call: a pipeline is one write.
    const writes = new Map<string, number>();
    const restore: (() => void)[] = [];
    for (const node of masters) {
      const name = `${node.options.host}:${node.options.port}`;
      const stream = node.stream;
      const write = stream.write;
      stream.write = function (this: typeof stream, ...args: unknown[]) {
        writes.set(name, (writes.get(name) ?? 0) + 1);
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof stream.write;
      restore.push(() => {
        stream.write = write;
      });
    }
    try {
      for (const call of [() => kv.mget(keys), () => kv.mset(keys.map((k) => [k, 1] as const))]) {
        writes.clear();
        await call();
        expect(writes.size).toBe(3);
        for (const [node, n] of writes) expect(n, node).toBe(1);
      }
    } finally {
      for (const undo of restore) undo();
    }
    // One command per slot: MGET per slot (atomic per slot), as before the pipelining.
    const stats = await Promise.all(
      masters.map(async (node) => {
        await node.config("RESETSTAT");
        return node;
      }),
    );
    await kv.mget(keys);
    for (const node of stats) {
      const info = String(await node.info("commandstats"));
      const mgets = Number(/cmdstat_mget:calls=(\d+)/.exec(info)?.[1] ?? 0);
      expect(mgets).toBe(slotsOf.get(`${node.options.host}:${node.options.port}`)!.size);
    }
    expect(await kv.mget(keys)).toEqual(keys.map(() => 1));
    await kv.close();
  });

  it("uses a caller's Cluster as it is and leaves it open on close", async () => {
    const prefix = uniquePrefix();
    const mine = new Cluster(parseRedisUrl(clusterUrl).nodes);
    const kv = new RedisBackend({ client: mine, prefix });
    await kv.listAppendUnique("inbox", [{ id: 1 }, { id: 2 }]);
    expect(await kv.listPopAll("inbox")).toEqual([{ id: 1 }, { id: 2 }]);
    await kv.close();
    expect(await mine.ping()).toBe("PONG");
    mine.disconnect();
  });
});
