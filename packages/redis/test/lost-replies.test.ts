import { isKVError, type KVError } from "@kv/core";
import { type FaultProxy, startClusterProxies, startProxy } from "@kv/fault-proxy";
import { type RedisServer, redisCommand, startRedis, startRedisCluster } from "@kv/redis-harness";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSlot, RedisBackend } from "../src/index.js";
import { clusterUrl, haveRedis, sleep } from "./helpers.js";

/**
 * Every fault of the proxy × every write: the call is delivered exactly once, or it
 * rejects with KV_UNAVAILABLE (saying it may have taken effect) and its effect happened
 * at most once, a pop's items recoverable (README "Failures"). A fresh key per case.
 */

const BUDGET_MS = 2000;
const SCRIPTS = ["EVALSHA", "EVAL"];

type Outcome = { ok: true; value: unknown; ms: number } | { ok: false; err: KVError; ms: number };

interface WriteCase {
  /** Writes the state the call starts from (directly, not through the proxy). */
  prepare(raw: Redis | Cluster, key: string): Promise<void>;
  run(kv: RedisBackend, key: string): Promise<unknown>;
  /** What the call answers when delivered once. */
  expected: unknown;
  /**
   * Checks the server's state after the call: `once` when it took effect exactly once,
   * `none` when it did not take effect; anything else is a failure.
   */
  effect(raw: Redis | Cluster, key: string, kv: RedisBackend): Promise<"once" | "none">;
}

const items = [{ id: 1 }, { id: 2 }, { id: 3 }];

const writes: Record<string, WriteCase> = {
  incr: {
    prepare: async (raw, key) => void (await raw.set(key, "10")),
    run: (kv, key) => kv.incr(key, 5),
    expected: 15,
    effect: async (raw, key) => {
      const v = await raw.get(key);
      return v === "15" ? "once" : v === "10" ? "none" : fail(`counter ${v}`);
    },
  },
  listAppendUnique: {
    prepare: async (raw, key) => void (await raw.set(key, '[{"id":0}]')),
    run: (kv, key) => kv.listAppendUnique(key, [{ id: 1 }]),
    expected: [{ id: 0 }, { id: 1 }],
    effect: async (raw, key) => {
      const v = await raw.get(key);
      return v === '[{"id":0},{"id":1}]' ? "once" : v === '[{"id":0}]' ? "none" : fail(`list ${v}`);
    },
  },
  mset: {
    prepare: async () => {},
    run: (kv, key) => kv.mset({ [`{${key}}:a`]: 1, [`{${key}}:b`]: [2] }),
    expected: undefined,
    effect: async (raw, key) => {
      const [a, b] = await raw.mget(`{${key}}:a`, `{${key}}:b`);
      if (a === "1" && b === "[2]") return "once";
      return a === null && b === null ? "none" : fail(`mset ${a} ${b}`);
    },
  },
  set: {
    prepare: async (raw, key) => void (await raw.set(key, '"old"')),
    run: (kv, key) => kv.set(key, { v: 1 }),
    expected: undefined,
    effect: async (raw, key) => {
      const v = await raw.get(key);
      return v === '{"v":1}' ? "once" : v === '"old"' ? "none" : fail(`value ${v}`);
    },
  },
  delete: {
    prepare: async (raw, key) => void (await raw.set(key, "1")),
    run: (kv, key) => kv.delete(key),
    // A resent delete answers what the first did: true, not "nothing to delete".
    expected: true,
    effect: async (raw, key) => ((await raw.exists(key)) === 0 ? "once" : "none"),
  },
  expire: {
    prepare: async (raw, key) => void (await raw.set(key, "1")),
    run: (kv, key) => kv.expire(key, 100),
    expected: true,
    effect: async (raw, key) => {
      const ms = await raw.pttl(key);
      return ms > 0 ? "once" : ms === -1 ? "none" : fail(`pttl ${ms}`);
    },
  },
  listPopAll: {
    prepare: async (raw, key) => void (await raw.set(key, JSON.stringify(items))),
    run: (kv, key) => kv.listPopAll(key),
    expected: items,
    // Popped once and delivered, or (after a failure) put back under the key: no item
    // lost, none twice. A later pop by anyone gets them.
    effect: async (raw, key, kv) => {
      const left = await raw.get(key);
      if (left === null) return "once";
      const again = await kv.listPopAll(key);
      expect(again).toEqual(items);
      return "none";
    },
  },
};

function fail(what: string): never {
  throw new Error(`unexpected state: ${what}`);
}

/** The faults: each arms the proxy (or the server) around one call. */
const faults: Record<
  string,
  (
    ctx: { proxy: FaultProxy; server: RedisServer },
    call: () => Promise<unknown>,
  ) => Promise<Outcome>
> = {
  "drop the reply": async ({ proxy }, call) => {
    proxy.dropNextReply(1, { commands: SCRIPTS });
    return outcome(call());
  },
  "reset mid-command (request never reaches the server)": async ({ proxy }, call) => {
    proxy.resetNextRequest({ commands: SCRIPTS });
    return outcome(call());
  },
  "delay the reply past the timeout": async ({ proxy }, call) => {
    proxy.delayReplies(BUDGET_MS + 1500);
    const result = await outcome(call());
    proxy.delayReplies(0);
    return result;
  },
  "black hole, lifted within the budget": async ({ proxy }, call) => {
    proxy.blackhole(true);
    const pending = outcome(call());
    await sleep(300);
    proxy.blackhole(false);
    return pending;
  },
  "CLIENT KILL while the command is queued": async ({ server }, call) => {
    // A busy script holds the server: the call and the kill queue behind it, and the
    // server runs them in either order.
    const busy = redisCommand(
      server.port,
      "EVAL",
      "local s = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 300000 then break end end return 1",
      "0",
    );
    await sleep(50);
    const pending = outcome(call());
    await sleep(50);
    await Promise.all([busy, redisCommand(server.port, "CLIENT", "KILL", "TYPE", "normal")]);
    return pending;
  },
};

/** Checks one case's outcome and effect; returns its report line. */
async function judge(
  name: string,
  result: Outcome,
  write: WriteCase,
  kv: RedisBackend,
  raw: Redis | Cluster,
  key: string,
): Promise<string> {
  if (result.ok) {
    expect(result.value).toEqual(write.expected);
    expect(await write.effect(raw, key, kv)).toBe("once");
    return `  ${name}: delivered once in ${result.ms.toFixed(0)} ms`;
  }
  expect(result.err.code).toBe("KV_UNAVAILABLE");
  expect(result.ms).toBeLessThan(BUDGET_MS + 2000);
  // Recoverable: wait until the server answers again, then look.
  await eventually(() => kv.exists(key));
  await sleep(300); // a failed pop puts its items back as soon as it can
  const effect = await write.effect(raw, key, kv);
  if (effect === "once") expect(result.err.mayHaveTakenEffect).toBe(true);
  return `  ${name}: KV_UNAVAILABLE after ${result.ms.toFixed(0)} ms (mayHaveTakenEffect ${result.err.mayHaveTakenEffect}), effect ${effect}, 0 items lost`;
}

async function outcome(promise: Promise<unknown>): Promise<Outcome> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ok: true, value, ms: performance.now() - start };
  } catch (err) {
    if (!isKVError(err, "KV_UNAVAILABLE")) throw err;
    return { ok: false, err, ms: performance.now() - start };
  }
}

describe.skipIf(!haveRedis)("a lost reply: every fault × every write", () => {
  let server: RedisServer;
  let proxy: FaultProxy;
  let kv: RedisBackend;
  let raw: Redis;
  const report: string[] = [];

  beforeAll(async () => {
    server = await startRedis();
    proxy = await startProxy({ target: { host: server.host, port: server.port } });
    kv = new RedisBackend({ url: proxy.url, commandTimeoutMs: BUDGET_MS });
    raw = new Redis({ host: server.host, port: server.port });
    // Scripts cached, connection up: each case measures its fault only.
    await kv.incr("warm");
    await kv.listAppendUnique("warm:l", [{ id: 1 }]);
    await kv.listPopAll("warm:l");
    await kv.set("warm", 1);
    await kv.mset({ warm: 1 });
    await kv.expire("warm", 10);
    await kv.delete("warm");
  });
  afterAll(async () => {
    console.info(`lost replies (budget ${BUDGET_MS} ms):\n${report.join("\n")}`);
    await kv?.close();
    raw?.disconnect();
    await proxy?.close();
    await server?.stop();
  });

  let n = 0;
  for (const [faultName, inject] of Object.entries(faults)) {
    for (const [opName, write] of Object.entries(writes)) {
      it(`${faultName}: ${opName}`, async () => {
        const key = `case:${++n}`;
        await write.prepare(raw, key);
        const result = await inject({ proxy, server }, () => write.run(kv, key));
        proxy.clearFaults();
        report.push(await judge(`${faultName} / ${opName}`, result, write, kv, raw, key));
      });
    }
  }

  it("a write's idempotency record lives in the key's slot (CLUSTER KEYSLOT agrees)", async () => {
    const { requestRecordKey, inFlightKey, wakeChannel } = await import(
      "../src/exactly-once/side-keys.js"
    );
    const { hashSlot } = await import("../src/cluster/slot.js");
    for (const key of ["inbox", "a{user1}b", "{}x", "a}b", "{a}b}", "x{}y{z}", "ü{ñ}", "}{"]) {
      for (const side of [requestRecordKey(key, "id1"), inFlightKey(key), wakeChannel(key)]) {
        expect(hashSlot(side), `${key} → ${side}`).toBe(hashSlot(key));
      }
    }
    // And a cluster node computes the same slots.
    const node = Number(/:(\d+)/.exec(clusterUrl)![1]);
    for (const key of ["inbox", "{}x", "a}b", "ü{ñ}", "}{"]) {
      for (const side of [key, requestRecordKey(key, "id1"), inFlightKey(key), wakeChannel(key)]) {
        expect(Number(await redisCommand(node, "CLUSTER", "KEYSLOT", side)), side).toBe(
          hashSlot(key),
        );
      }
    }
  });
});

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

describe.skipIf(!haveRedis)("a lost reply on a Cluster: every fault × every write", () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let proxies: Awaited<ReturnType<typeof startClusterProxies>>;
  let kv: RedisBackend;
  let raw: Cluster;
  const report: string[] = [];
  /** Real port of the master of each slot range. */
  let ranges: [number, number, [string, number]][];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    proxies = await startClusterProxies(cluster.nodes);
    kv = new RedisBackend({
      url: proxies.url,
      commandTimeoutMs: BUDGET_MS,
      clusterOptions: { natMap: proxies.natMap },
    });
    raw = new Cluster(cluster.nodes);
    ranges = (await redisCommand(cluster.nodes[0]!.port, "CLUSTER", "SLOTS")) as typeof ranges;
    for (let i = 0; i < 20; i++) {
      await kv.incr(`warm:${i}`);
      await kv.listAppendUnique(`warm:${i}`, [{ id: 1 }]).catch(() => undefined);
      await kv.set(`warm:${i}`, [1]);
      await kv.listPopAll(`warm:${i}`);
      await kv.mset({ [`warm:${i}`]: 1 });
      await kv.expire(`warm:${i}`, 10);
      await kv.delete(`warm:${i}`);
    }
  }, 60_000);
  afterAll(async () => {
    console.info(`lost replies on a Cluster (budget ${BUDGET_MS} ms):\n${report.join("\n")}`);
    await kv?.close();
    raw?.disconnect();
    await proxies?.close();
    await cluster?.stop();
  });

  function proxyOf(key: string): FaultProxy {
    const slot = hashSlot(key);
    const range = ranges.find((r) => slot >= r[0] && slot <= r[1])!;
    return proxies.proxyFor(Number(range[2][1]));
  }

  let n = 0;
  for (const [faultName, inject] of Object.entries(faults)) {
    if (faultName.startsWith("CLIENT KILL")) continue; // standalone covers it
    for (const [opName, write] of Object.entries(writes)) {
      it(`${faultName}: ${opName}`, async () => {
        const key = `ccase:${++n}`;
        await write.prepare(raw, key);
        const proxy = proxyOf(key);
        const result = await inject({ proxy, server: undefined as never }, () =>
          write.run(kv, key),
        );
        proxy.clearFaults();
        report.push(await judge(`${faultName} / ${opName}`, result, write, kv, raw, key));
      });
    }
  }
});
