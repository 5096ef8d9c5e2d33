import { execFile } from "node:child_process";
import { join } from "node:path";
import { type FaultProxy, startProxy } from "@kv/fault-proxy";
import { redisCommand, startRedis, startRedisCluster } from "@kv/redis-harness";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inFlightKey } from "../src/exactly-once/side-keys.js";
import { RedisBackend } from "../src/index.js";
import { buildBundle, packageRoot } from "./bundle.js";
import { haveRedis, sleep, uniquePrefix } from "./helpers.js";

/**
 * A Jepsen-style run (README "Failures"): WORKERS OS processes append uniquely numbered
 * items to a few inboxes, pop them with waiting pops and increment counters, while the
 * test injects faults. Then a checker: every item whose append succeeded is delivered,
 * none is delivered twice, none whose append reported "did not take effect" shows up,
 * and every counter is between the increments reported done and those plus the ones
 * reported "may have taken effect". It prints one line per run.
 *
 * Standalone: random dropped replies, resets and slow replies through the proxy, a black
 * hole, a reset of every connection and a server restart. The server writes an
 * append-only file (appendfsync always): a restart keeps what it acknowledged, so every
 * acknowledged item counts (without persistence a restart empties the server, and no
 * client could deliver what is gone).
 * Cluster: 3 masters with a replica each, one master shut down mid-run and failed over.
 */

const WORKERS = 3;
const INBOXES = 4;

interface WorkerResult {
  worker: number;
  appended: string[];
  maybeAppended: string[];
  notAppended: string[];
  delivered: string[];
  incrOk: number;
  incrMaybe: number;
  incrNot: number;
  unavailable: number;
  errors: string[];
}

let bundle: { url: string; remove: () => void } | undefined;
beforeAll(async () => {
  if (haveRedis) bundle = await buildBundle("jepsen");
});
afterAll(() => bundle?.remove());

function runWorker(config: Record<string, unknown>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(packageRoot, "test/fixtures/jepsen-worker.mjs"), JSON.stringify(config)],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`worker failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as WorkerResult);
      },
    );
  });
}

/**
 * Pops every inbox until nothing is left under the keys nor in flight (a pop whose
 * process failed to acknowledge or put back its items comes back after the lease).
 */
async function drain(
  url: string,
  prefix: string,
  leaseMs: number,
  raw: Redis | Cluster,
): Promise<{ items: string[]; ms: number }> {
  const kv = new RedisBackend({ url, prefix, commandTimeoutMs: 2000, popLeaseMs: leaseMs });
  const items: string[] = [];
  const start = performance.now();
  try {
    const deadline = Date.now() + leaseMs + 15_000;
    for (;;) {
      let inFlight = 0;
      for (let i = 0; i < INBOXES; i++) {
        const key = `inbox:${i}`;
        const popped = await kv.listPopAll<{ id: string }>(key);
        for (const item of popped) items.push(item.id);
        await sleep(100); // our own acknowledgement goes out
        // Two fields a pop: its items and its lease end (scripts/list-pop.lua.ts).
        inFlight += (await raw.hlen(inFlightKey(prefix + key))) / 2;
      }
      if (inFlight === 0) break;
      if (Date.now() > deadline)
        throw new Error(`${inFlight} pops still in flight after the lease`);
      await sleep(250);
    }
  } finally {
    await kv.close();
  }
  return { items, ms: performance.now() - start };
}

async function check(
  name: string,
  results: WorkerResult[],
  drained: string[],
  counter: (worker: number) => Promise<number>,
  faults: string,
): Promise<string> {
  for (const r of results) expect(r.errors, `worker ${r.worker}`).toEqual([]);
  const times = new Map<string, number>();
  for (const id of [...results.flatMap((r) => r.delivered), ...drained]) {
    times.set(id, (times.get(id) ?? 0) + 1);
  }
  const acked = results.flatMap((r) => r.appended);
  const maybe = results.flatMap((r) => r.maybeAppended);
  const refused = results.flatMap((r) => r.notAppended);
  const lost = acked.filter((id) => !times.has(id));
  const duplicated = [...times].filter(([, n]) => n > 1).map(([id]) => id);
  const phantom = refused.filter((id) => times.has(id));
  const maybeDelivered = maybe.filter((id) => times.has(id)).length;
  const produced = acked.length + maybeDelivered;
  const delivered = [...times.values()].reduce((a, b) => a + b, 0);
  const badCounters: string[] = [];
  let increments = 0;
  for (const r of results) {
    const value = await counter(r.worker);
    increments += value;
    if (value < r.incrOk || value > r.incrOk + r.incrMaybe) {
      badCounters.push(
        `worker ${r.worker}: ${value} not in [${r.incrOk}, ${r.incrOk + r.incrMaybe}]`,
      );
    }
  }
  const unavailable = results.reduce((a, r) => a + r.unavailable, 0);
  const line =
    `jepsen (${name}): items produced ${produced}, delivered ${delivered}, lost ${lost.length}, duplicated ${duplicated.length}` +
    `; counters ${badCounters.length === 0 ? "ok" : "WRONG"} (${increments} increments)` +
    ` [appends acked ${acked.length}, may-have ${maybe.length} (${maybeDelivered} delivered), refused ${refused.length} (${phantom.length} delivered); KV_UNAVAILABLE ${unavailable}; recovered at the end ${drained.length}; faults: ${faults}]`;
  console.info(line);
  expect(lost, line).toEqual([]);
  expect(duplicated, line).toEqual([]);
  expect(phantom, line).toEqual([]);
  expect(badCounters, line).toEqual([]);
  expect(delivered).toBe(produced);
  return line;
}

describe.skipIf(!haveRedis)("Jepsen-style run", () => {
  it(`standalone: ${WORKERS} processes under random faults, a black hole, CLIENT KILL and a restart`, async () => {
    const server = await startRedis({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
    let proxy: FaultProxy | undefined;
    const raw = new Redis({ host: server.host, port: server.port });
    try {
      proxy = await startProxy({ target: { host: server.host, port: server.port } });
      const p = proxy;
      const prefix = uniquePrefix("jepsen");
      const leaseMs = 5000;
      const durationMs = 14_000;
      const workers = Array.from({ length: WORKERS }, (_, worker) =>
        runWorker({
          bundle: bundle!.url,
          url: p.url,
          prefix,
          worker,
          durationMs,
          inboxes: INBOXES,
          commandTimeoutMs: 2000,
          popLeaseMs: leaseMs,
        }),
      );
      const schedule = (async () => {
        await sleep(1500);
        p.randomFaults({
          seed: 42,
          rate: 0.02,
          kinds: ["dropReply", "resetRequest", "delayReply"],
          delayMs: 300,
          commands: ["EVALSHA", "EVAL", "GET", "MGET", "HDEL", "EXISTS", "PTTL"],
        });
        await sleep(2500);
        p.blackhole(true);
        await sleep(2600); // longer than a call's budget: some calls fail, some "may have taken effect"
        p.blackhole(false);
        await sleep(1500);
        await server.restart();
        await sleep(2500);
        p.resetAll();
        await redisCommand(server.port, "CLIENT", "KILL", "TYPE", "normal").catch(() => 0);
        await sleep(2000);
        p.randomFaults(null);
      })();
      const [results] = await Promise.all([Promise.all(workers), schedule]);
      p.clearFaults();
      const drained = await drain(server.url, prefix, leaseMs, raw);
      const st = p.stats;
      await check(
        "standalone",
        results,
        drained.items,
        async (w) => Number((await raw.get(`${prefix}counter:${w}`)) ?? 0),
        `${st.repliesDropped} replies dropped, ${st.requestsReset} requests reset, ${st.repliesDelayed} replies delayed, ${st.resets} connections reset, a 2.6 s black hole (longer than the 2 s budget), 1 restart`,
      );
    } finally {
      raw.disconnect();
      await proxy?.close();
      await server.stop();
    }
  }, 120_000);

  it(`cluster with replicas: ${WORKERS} processes while a master is shut down and fails over`, async () => {
    const cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 1500 });
    const raw = new Cluster(cluster.nodes);
    try {
      const prefix = uniquePrefix("jepsen");
      const commandTimeoutMs = 6000;
      const leaseMs = 2 * commandTimeoutMs + 1000;
      const workers = Array.from({ length: WORKERS }, (_, worker) =>
        runWorker({
          bundle: bundle!.url,
          url: cluster.url,
          prefix,
          worker,
          durationMs: 10_000,
          inboxes: INBOXES,
          commandTimeoutMs,
          popLeaseMs: leaseMs,
        }),
      );
      const schedule = (async () => {
        await sleep(3000);
        const victim = await masterOf(cluster.nodes[0]!.port, `${prefix}inbox:0`);
        // SHUTDOWN (not NOW) lets the replica catch up first, as Redis 7 does: the
        // checker then measures this library, not Redis's asynchronous replication.
        await redisCommand(victim, "SHUTDOWN", "NOSAVE").catch(() => undefined);
        return victim;
      })();
      const [results, victim] = await Promise.all([Promise.all(workers), schedule]);
      const drained = await drain(cluster.url, prefix, leaseMs, raw);
      // The victim's replica took over its slots.
      const alive = cluster.nodes.find((n) => n.port !== victim)!.port;
      const nodes = String(await redisCommand(alive, "CLUSTER", "NODES"));
      const line = nodes.split("\n").find((l) => l.includes(`:${victim}@`)) ?? "";
      expect(line).toMatch(/fail/);
      expect(await masterOf(alive, `${prefix}inbox:0`)).not.toBe(victim);
      await check(
        "cluster failover",
        results,
        drained.items,
        async (w) => Number((await raw.get(`${prefix}counter:${w}`)) ?? 0),
        `master ${victim} shut down at 3 s, failed over to its replica`,
      );
    } finally {
      raw.disconnect();
      await cluster.stop();
    }
  }, 150_000);
});

/** The port of the master that serves `key`. */
async function masterOf(anyNode: number, key: string): Promise<number> {
  const slot = Number(await redisCommand(anyNode, "CLUSTER", "KEYSLOT", key));
  const ranges = (await redisCommand(anyNode, "CLUSTER", "SLOTS")) as [
    number,
    number,
    [string, number],
  ][];
  const range = ranges.find((r) => slot >= r[0] && slot <= r[1])!;
  return Number(range[2][1]);
}
