import type { JsonValue } from "@kv/core";
import { type ClusterProxies, startClusterProxies } from "@kv/fault-proxy";
import { type RedisCluster, redisCommand, startRedisCluster } from "@kv/redis-harness";
import { Cluster, type Command, type Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSlot, parseRedisUrl, RedisBackend } from "../src/index.js";
import { clusterUrl, haveRedis, redisUrl, uniquePrefix } from "./helpers.js";

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
    // The batch form agrees, on ASCII keys (its fast path) and on any.
    const { slotsOf } = await import("../src/cluster/slot.js");
    const ascii = keys.filter((k) => /^[\x20-\x7e]*$/.test(k));
    ascii.push("{}x{y}", "a{b", "a}b{c}", "{{}}", "x{ab}{cd}", "");
    for (const batch of [ascii, keys, [...ascii, "é"]]) {
      expect(Array.from(slotsOf(batch))).toEqual(batch.map((k) => hashSlot(k)));
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

  /** Calls of each command on each master since the last RESETSTAT, by node "host:port". */
  async function commandCalls(masters: Redis[]): Promise<Map<string, Record<string, number>>> {
    const calls = new Map<string, Record<string, number>>();
    for (const node of masters) {
      const info = String(await node.info("commandstats"));
      const counts: Record<string, number> = {};
      for (const [, name, n] of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
        counts[name!] = Number(n);
      }
      calls.set(`${node.options.host}:${node.options.port}`, counts);
    }
    return calls;
  }

  it("sends a spread-out batch as one script per master: one round trip, one command each", async () => {
    const prefix = uniquePrefix();
    const kv = new RedisBackend({ url: clusterUrl, prefix });
    const keys = Array.from({ length: 1000 }, (_, i) => `batch${i}`);
    await kv.mset(keys.map((k, i) => [k, { i }] as const)); // scripts cached, connected
    await kv.mget(keys);
    const masters = (kv.client as Cluster).nodes("master");
    expect(masters.length).toBe(3);
    // Writes on each master's socket during one call: one command is one write.
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
    // One EVALSHA per master (its MGETs, GETs, SETs run inside it), nothing else.
    for (const call of [() => kv.mget(keys), () => kv.mset(keys.map((k) => [k, 2] as const))]) {
      await Promise.all(masters.map((node) => node.config("RESETSTAT")));
      await call();
      for (const [node, calls] of await commandCalls(masters)) {
        expect(calls.evalsha, node).toBe(1);
        expect(calls.eval ?? 0, node).toBe(0);
      }
    }
    expect(await kv.mget(keys)).toEqual(keys.map(() => 2));
    // One idempotency record per master, not one per slot (~1000 here).
    const records: string[] = [];
    for (const node of masters) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(
          cursor,
          "MATCH",
          `{${prefix}*\u0000kv:req:*`,
          "COUNT",
          1000,
        );
        cursor = next;
        records.push(...found);
      } while (cursor !== "0");
    }
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(records.length).toBeLessThanOrEqual(3 * 4); // the 4 msets above (records live 6 s)
    await kv.close();
  });

  it("keeps one command for a batch in one slot, and a slot's own command for a master with one slot", async () => {
    const prefix = uniquePrefix();
    const kv = new RedisBackend({ url: clusterUrl, prefix });
    const tagged = Array.from({ length: 50 }, (_, i) => `{one}:${i}`);
    // One key on each master: each gets that slot's own MGET.
    const spread: string[] = [];
    const ports = new Set<number>();
    for (let i = 0; ports.size < 3; i++) {
      const port = await nodeOf(`${prefix}s${i}`);
      if (!ports.has(port)) {
        ports.add(port);
        spread.push(`s${i}`);
      }
    }
    await kv.mset([...tagged, ...spread].map((k) => [k, k] as const));
    const masters = (kv.client as Cluster).nodes("master");
    for (const keys of [tagged, spread]) {
      await Promise.all(masters.map((node) => node.config("RESETSTAT")));
      expect(await kv.mget(keys)).toEqual(keys);
      let mgets = 0;
      for (const [node, calls] of await commandCalls(masters)) {
        expect(calls.evalsha ?? 0, node).toBe(0);
        mgets += calls.mget ?? 0;
      }
      expect(mgets).toBe(keys === tagged ? 1 : 3);
    }
    await kv.close();
  });

  it("mget/mset give what one server gives: 100, 1,000 and 10,000 keys, tags, repeats, lists, TTLs", async () => {
    const prefix = uniquePrefix();
    const onCluster = new RedisBackend({ url: clusterUrl, prefix });
    const onServer = new RedisBackend({ url: redisUrl, prefix });
    for (const n of [100, 1000, 10_000]) {
      const keys = Array.from({ length: n }, (_, i) =>
        // Spread keys, a few small tag groups, and at 10,000 a tag of 1,500 keys (a slot
        // written in several MSETs), some of them non-ASCII.
        i % 10 === 3
          ? `{g${i % 7}}:${i}`
          : n > 1000 && i < 1500
            ? `{big}:${i}`
            : `k${n}:${i}${i % 50 === 0 ? "é" : ""}`,
      );
      for (const ttlSeconds of [undefined, 60]) {
        const entries: [string, JsonValue][] = keys.map((k, i) => [
          k,
          i % 9 === 0 ? [{ id: i }] : { i, ttlSeconds: ttlSeconds ?? null },
        ]);
        entries.push([keys[1]!, "last pair wins"]);
        await onCluster.mset(entries, { ttlSeconds });
        await onServer.mset(entries, { ttlSeconds });
        const read = [...keys, "missing", keys[0]!, keys[n - 1]!, keys[1]!, "{g1}:missing"];
        expect(await onCluster.mget(read), `${n} keys, ttl ${ttlSeconds}`).toEqual(
          await onServer.mget(read),
        );
        for (const k of [keys[0]!, keys[3]!, keys[n - 1]!]) {
          const [a, b] = [await onCluster.ttl(k), await onServer.ttl(k)];
          if (ttlSeconds === undefined) expect(a).toBe(b);
          else expect(Math.abs(a! - b!)).toBeLessThan(5);
        }
      }
    }
    await Promise.all([onCluster.close(), onServer.close()]);
  });

  it("goes per slot, from then on, when the server refuses a script across slots", async () => {
    const { CLUSTER_MGET, CLUSTER_MSET } = await import("../src/scripts/cluster-batch.lua.js");
    // A server that refuses them, made from this one: Redis 7 holds a script that has a
    // shebang line and no allow-cross-slot-keys flag to one slot ("… do not hash to the
    // same slot"), as a stricter server would hold ours. These clients send the batch
    // scripts that way (EVAL of "#!lua" + the script).
    const strict = new Map([CLUSTER_MGET, CLUSTER_MSET].map((s) => [s.sha, `#!lua\n${s.lua}`]));
    const strictClient = () => {
      const client = new Cluster(parseRedisUrl(clusterUrl).nodes);
      const send = client.sendCommand.bind(client);
      const counter = { sent: 0 };
      client.sendCommand = ((command: Command, ...rest: unknown[]) => {
        const lua = command.name === "evalsha" ? strict.get(String(command.args[0])) : undefined;
        if (lua !== undefined) {
          counter.sent++;
          command.name = "eval";
          command.args[0] = lua;
        }
        return (send as (...a: unknown[]) => unknown)(command, ...rest);
      }) as typeof client.sendCommand;
      return { client, counter };
    };
    const keys = Array.from({ length: 300 }, (_, i) => `strict${i}`);
    for (const first of ["mset", "mget"] as const) {
      const prefix = uniquePrefix();
      const { client, counter } = strictClient();
      const kv = new RedisBackend({ client, prefix });
      if (first === "mget") expect(await kv.mget(keys)).toEqual(keys.map(() => undefined));
      // Refused once per master, on the first batch: every later one goes per slot.
      await kv.mset(keys.map((k, i) => [k, i] as const));
      expect(await kv.mget(keys)).toEqual(keys.map((_, i) => i));
      await kv.mset(
        keys.map((k, i) => [k, -1 - i] as const),
        { ttlSeconds: 60 },
      );
      expect(await kv.mget(keys)).toEqual(keys.map((_, i) => -1 - i));
      expect(counter.sent, first).toBe(3);
      // Each slot written once: the first part of each master's refused mset by its
      // script, the rest by their own; no slot by both (read back above).
      await kv.close();
      client.disconnect();
    }
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

describe.skipIf(!haveRedis)("Redis Cluster batches: a lost reply, slots that move", () => {
  let cluster: RedisCluster;
  let proxies: ClusterProxies;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    proxies = await startClusterProxies(cluster.nodes);
  }, 60_000);
  afterAll(async () => {
    await proxies?.close();
    await cluster?.stop();
  });

  const backend = (prefix: string) =>
    new RedisBackend({
      url: proxies.url,
      prefix,
      clusterOptions: { natMap: proxies.natMap },
      commandTimeoutMs: 3000,
    });

  /** The real port of the master that serves `slot` now. */
  async function ownerOf(slot: number): Promise<number> {
    const ranges = (await redisCommand(cluster.nodes[0]!.port, "CLUSTER", "SLOTS")) as [
      number,
      number,
      [string, number],
    ][];
    return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
  }

  /** Calls of each command since the last RESETSTAT on the node at `port`. */
  async function calls(port: number): Promise<Record<string, number>> {
    const info = String(await redisCommand(port, "INFO", "commandstats"));
    const counts: Record<string, number> = {};
    for (const [, name, n] of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
      counts[name!] = Number(n);
    }
    return counts;
  }

  it("resends an mset whose reply was lost: each slot written once", async () => {
    const prefix = uniquePrefix();
    const kv = backend(prefix);
    const keys = Array.from({ length: 300 }, (_, i) => `lost${i}`);
    await kv.mset(keys.map((k) => [k, 0] as const)); // connected, scripts cached
    const port = cluster.nodes[0]!.port;
    const slotsHere = new Map<number, number>();
    for (const k of keys) {
      const slot = hashSlot(prefix + k);
      if ((await ownerOf(slot)) === port) slotsHere.set(slot, (slotsHere.get(slot) ?? 0) + 1);
    }
    const singles = [...slotsHere.values()].filter((n) => n === 1).length;
    expect(singles).toBeGreaterThan(10);
    await redisCommand(port, "CONFIG", "RESETSTAT");
    const proxy = proxies.proxyFor(port);
    proxy.dropNextReply(1, { commands: ["EVALSHA", "EVAL"] });
    await kv.mset(keys.map((k, i) => [k, i] as const));
    expect(proxy.stats.repliesDropped).toBe(1);
    const stats = await calls(port);
    // Sent at least twice; each run SETs its record (NX), the first one also each
    // one-key slot: the resends wrote nothing.
    expect(stats.evalsha).toBeGreaterThanOrEqual(2);
    expect(stats.set! - stats.evalsha!).toBe(singles);
    expect(stats.mset ?? 0).toBe(slotsHere.size - singles);
    expect(await kv.mget(keys)).toEqual(keys.map((_, i) => i));
    await kv.close();
  });

  /** Moves `slot` and its keys to the master at `to` (CLUSTER SETSLOT, MIGRATE). */
  async function moveSlot(slot: number, to: number): Promise<void> {
    const from = await ownerOf(slot);
    const idOf = async (port: number) => String(await redisCommand(port, "CLUSTER", "MYID"));
    const [fromId, toId] = [await idOf(from), await idOf(to)];
    await redisCommand(to, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromId);
    await redisCommand(from, "CLUSTER", "SETSLOT", slot, "MIGRATING", toId);
    for (;;) {
      const keys = (await redisCommand(from, "CLUSTER", "GETKEYSINSLOT", slot, 100)) as string[];
      if (keys.length === 0) break;
      await redisCommand(from, "MIGRATE", "127.0.0.1", to, "", 0, 5000, "KEYS", ...keys);
    }
    const others = cluster.nodes.map((n) => n.port).filter((p) => p !== from && p !== to);
    for (const port of [to, from, ...others]) {
      await redisCommand(port, "CLUSTER", "SETSLOT", slot, "NODE", toId);
    }
  }

  it("reads and writes slots that moved since the client last looked", async () => {
    const prefix = uniquePrefix();
    const kv = backend(prefix);
    const keys = Array.from({ length: 200 }, (_, i) => `moved${i}`);
    await kv.mset(keys.map((k, i) => [k, i] as const));
    // The master of the batch's first key: its script is routed by that key.
    const a = await ownerOf(hashSlot(prefix + keys[0]!));
    const b = cluster.nodes.map((n) => n.port).find((p) => p !== a)!;
    const onA: number[] = [];
    for (const k of keys) {
      const slot = hashSlot(prefix + k);
      if ((await ownerOf(slot)) === a && !onA.includes(slot)) onA.push(slot);
    }
    // A slot in the middle of a's script (the script runs on a and finds it gone), then
    // the one its first key is in (the script follows it to b and finds a's others gone).
    for (const [round, slot] of [onA[onA.length - 1]!, onA[0]!].entries()) {
      await moveSlot(slot, b);
      expect(await kv.mget(keys), `round ${round}`).toEqual(keys.map((_, i) => i + round * 1000));
      await moveSlot(onA[1 + round]!, b); // and one more for the write
      await kv.mset(keys.map((k, i) => [k, i + (round + 1) * 1000] as const));
      expect(await kv.mget(keys)).toEqual(keys.map((_, i) => i + (round + 1) * 1000));
      const moved = keys.find((k) => hashSlot(prefix + k) === slot)!;
      expect(await redisCommand(b, "GET", prefix + moved)).toBe(
        String(keys.indexOf(moved) + (round + 1) * 1000),
      );
    }
    await kv.close();
  });
});
