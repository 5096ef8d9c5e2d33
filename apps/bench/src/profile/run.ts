/**
 * Scenarios behind the figures a run missed, each repeating one operation for a couple
 * of seconds, to run under V8's CPU profiler:
 *
 *   node --cpu-prof --cpu-prof-dir=profiles --cpu-prof-interval 100 --expose-gc \
 *     --import tsx src/profile/run.ts <scenario>           (no scenario: the list)
 *   node --import tsx src/profile/summarize.ts profiles/<file>.cpuprofile
 *
 * The profile covers the whole process, set-up included; the set-up runs different
 * functions (mset, encodeEntries…) from the operation profiled, so the summary keeps
 * them apart. (An in-thread profiler session started around the measured part only was
 * tried: it slowed purgeExpired threefold and charged its time to the inspector.)
 *
 * The Redis scenarios also report CPU time per call on both sides (this process's
 * `process.cpuUsage()`, the server's `INFO cpu`): on a 2-core machine the client and the
 * server share the cores, so client CPU per call is throughput lost at 100 callers.
 */
import { type JsonValue, ManualClock } from "@kv/core";
import { redisCommand, startRedis } from "@kv/redis-harness";
import { keyOf, listItem, listOf, smallValue } from "../data.js";
import { ioredisRaw } from "../redis/ioredis-raw.js";
import { kvRedis } from "../redis/kv-redis.js";
import type { RedisStore, RedisSubject } from "../redis/types.js";
import { BoundJsonStore } from "../subjects/bound-json.js";
import { IN_PROCESS_SUBJECTS } from "../subjects/index.js";
import { KVBackendStore } from "../subjects/kv-backend.js";
import type { Store } from "../subjects/types.js";
import { CELLS } from "../suites/cells.js";
import { prefill, workload } from "../suites/workloads.js";

const value = smallValue(1);

async function setLoop(name: string, store: Store, calls: number): Promise<void> {
  for (let i = 0; i < 10_000; i++) await store.set(keyOf(i), value);
  for (let i = 0; i < 100_000; i++) await store.set(keyOf(i % 10_000), value); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await store.set(keyOf(i % 10_000), value);
  const ms = performance.now() - t0;
  console.log(`${name}: ${((calls / ms) * 1000).toFixed(0)} sets/s`);
}

async function memoryStore(): Promise<Store> {
  const { MemoryBackend } = await import("@kv/memory");
  return new KVBackendStore(new MemoryBackend());
}

async function lruStore(): Promise<Store> {
  const { LruBackend } = await import("@kv/lru");
  return new KVBackendStore(new LruBackend({ max: 100_000 }));
}

async function purge(name: string, live: number): Promise<void> {
  const { MemoryBackend } = await import("@kv/memory");
  const clock = new ManualClock(1_000_000);
  const backend = new MemoryBackend({ clock, purgeIntervalSeconds: false });
  const dead = 300_000;
  const total = live + dead;
  let chunk: [string, JsonValue][] = [];
  let deadChunk: [string, JsonValue][] = [];
  for (let i = 0; i < total; i++) {
    const isDead = Math.floor(((i + 1) * dead) / total) > Math.floor((i * dead) / total);
    (isDead ? deadChunk : chunk).push([`${isDead ? "dead" : "live"}:${i}`, value as JsonValue]);
    if (chunk.length === 1000) {
      await backend.mset(chunk, { ttlSeconds: 3600 + (i % 97) });
      chunk = [];
    }
    if (deadChunk.length === 1000) {
      await backend.mset(deadChunk, { ttlSeconds: 0.001 });
      deadChunk = [];
    }
  }
  clock.advance(1000);
  globalThis.gc?.();
  const t0 = performance.now();
  let removed = 0;
  for (let i = 0; i < dead / 1000; i++) removed += await backend.purgeExpired(1000);
  const ms = performance.now() - t0;
  console.log(
    `${name}: ${(ms / (dead / 1000)).toFixed(3)} ms per purgeExpired(1000), ${removed} removed`,
  );
  await backend.close();
}

type RedisOp = "set" | "mset 100" | "listAppendUnique";

async function redisScenario(name: string, subject: RedisSubject, op: RedisOp): Promise<void> {
  const server = await startRedis();
  try {
    const store: RedisStore = await subject.create(server.url);
    const pairs = Array.from({ length: 100 }, (_, i) => [keyOf(i), value] as const);
    const prepared = store.prepareMset(pairs);
    const base = listOf(10);
    const item = [listItem(1_000_000)];
    const callers = 100;
    const perCaller = 200;
    const call = (c: number, i: number): Promise<unknown> =>
      op === "set"
        ? store.set(keyOf((c * 200 + i) % 10_000), value)
        : op === "mset 100"
          ? store.mset(prepared)
          : store.listAppendUnique(`list:${c}:${i % 10}`, item);
    // Lists are reset before each round; over a round each grows from 10 to 30 items
    // (the same for both rows).
    const round = async () => {
      if (op === "listAppendUnique") {
        await Promise.all(
          Array.from({ length: callers }, async (_, c) => {
            for (let i = 0; i < 10; i++) await store.set(`list:${c}:${i}`, base);
          }),
        );
      }
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async (_, c) => {
          for (let i = 0; i < perCaller; i++) {
            await call(c, i);
          }
        }),
      );
      return performance.now() - t0;
    };
    await round(); // warm-up
    const cpuOf = async () => {
      const info = String(await redisCommand(server.port, "INFO", "cpu"));
      const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
      return num("used_cpu_user") + num("used_cpu_sys");
    };
    const serverBefore = await cpuOf();
    const clientBefore = process.cpuUsage();
    let ms = 0;
    const rounds = 5;
    for (let r = 0; r < rounds; r++) ms += await round();
    const client = process.cpuUsage(clientBefore);
    const serverSec = (await cpuOf()) - serverBefore;
    const calls = rounds * callers * perCaller;
    console.log(
      `${name}: ${((calls / ms) * 1000).toFixed(0)} calls/s; CPU per call: client ${((client.user + client.system) / calls).toFixed(1)} µs, server ${((serverSec * 1e6) / calls).toFixed(1)} µs`,
    );
    await store.close();
  } finally {
    await server.stop();
  }
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  "bound-set": async () => setLoop("bound-set", new BoundJsonStore(), 2_000_000),
  "memory-set": async () => setLoop("memory-set", await memoryStore(), 2_000_000),
  "lru-set": async () => setLoop("lru-set", await lruStore(), 2_000_000),
  "memory-purge-10k": () => purge("memory-purge-10k", 10_000),
  "memory-purge-1m": () => purge("memory-purge-1m", 1_000_000),
};
for (const auto of [false, true]) {
  for (const op of ["set", "mset 100", "listAppendUnique"] as const) {
    const suffix = `${op.replace(" ", "")}-100callers${auto ? "-auto" : ""}`;
    SCENARIOS[`kv-redis-${suffix}`] = () => redisScenario(`kv-redis-${suffix}`, kvRedis(auto), op);
    SCENARIOS[`ioredis-${suffix}`] = () => redisScenario(`ioredis-${suffix}`, ioredisRaw(auto), op);
  }
}

/**
 * `cell:<row>:<cell id>` (e.g. `cell:kv-lru:set/small`): the bench's own cell, same
 * store, prefill and workload, its batches repeated for about two seconds.
 */
async function cell(name: string): Promise<void> {
  const [, row, id] = name.split(":");
  const subject = IN_PROCESS_SUBJECTS.find((s) => s.name === row);
  const spec = CELLS.find((c) => c.id === id);
  if (!subject || !spec) throw new Error(`unknown row or cell in ${name}`);
  const store = await subject.create();
  await prefill(store, spec);
  const task = workload(spec, store);
  const batches = async (ms: number) => {
    let calls = 0;
    let timed = 0;
    while (timed < ms) {
      await task.setup?.();
      const t0 = performance.now();
      await task.run();
      timed += performance.now() - t0;
      calls += task.batch;
    }
    return (calls / timed) * 1000;
  };
  await batches(300); // warm-up
  const opsPerSec = await batches(2000);
  console.log(`${name}: ${opsPerSec.toFixed(0)} ops/s`);
  await store.close();
}

const wanted = process.argv.slice(2);
if (wanted.length === 0) {
  console.log(
    `scenarios:\n  ${Object.keys(SCENARIOS).join("\n  ")}\n  cell:<row>:<cell id>, e.g. cell:kv-lru:set/small`,
  );
} else {
  for (const name of wanted) {
    const scenario = name.startsWith("cell:") ? () => cell(name) : SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    await scenario();
  }
  process.exit(0);
}
