/**
 * `pnpm bench:near-cache`: what @kv/redis's near cache (`nearCache`) buys.
 *
 * - get-hit throughput, at 1 and at 100 concurrent callers: @kv/redis with the near cache,
 *   raw ioredis GET + JSON.parse (the same work without a cache), @kv/redis without it,
 *   and @kv/memory (the in-process bound for this API).
 * - A 90 % read / 10 % write mix on 100 keys, two clients of one server (one cached, one
 *   writing through a plain backend): throughput of the cached client's reads, and the
 *   time from the writer's acknowledged write to the cached client reading it.
 * - The same mix from two OS processes, each with its own near-cached client, each
 *   reading and writing (near-cache/two-process-mix.ts): throughput, and the time from
 *   one process's acknowledged write to the other reading it.
 *
 * Targets: cached get-hit >= 0.5x @kv/memory's and >= 20x raw ioredis at one caller;
 * invalidation p99 <= 5 ms on loopback. Results: results/near-cache.json (and printed).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KVBackend } from "@kv/core";
import { MemoryBackend } from "@kv/memory";
import { RedisBackend } from "@kv/redis";
import { startRedis } from "@kv/redis-harness";
import { Redis } from "ioredis";
import { type TwoProcessMix, twoProcessMix } from "./near-cache/two-process-mix.js";
import { progress } from "./progress.js";

const quick = process.argv.includes("--quick");
const SECONDS = quick ? 0.5 : 2;
const VALUE = { id: "user:42", name: "Ada", roles: ["admin", "dev"], n: 7 };

/** Calls `get` from `callers` concurrent loops for SECONDS; returns calls per second. */
async function throughput(callers: number, get: () => Promise<unknown>): Promise<number> {
  let calls = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        for (let i = 0; i < 50; i++) await get();
        calls += 50;
      }
    }),
  );
  return calls / SECONDS;
}

async function main(): Promise<void> {
  const server = await startRedis();
  const rows: { subject: string; callers: number; opsPerSec: number }[] = [];
  let mix: Record<string, number> | undefined;
  let twoProcesses: TwoProcessMix | undefined;
  try {
    const cached = new RedisBackend({ url: server.url, nearCache: { max: 10_000 } });
    const plain = new RedisBackend({ url: server.url });
    const raw = new Redis(server.url);
    const memory = new MemoryBackend();
    await cached.set("hot", VALUE);
    await memory.set("hot", VALUE);
    if (!(await cached.nearCacheReady(10_000))) throw new Error("near cache: no tracking");
    const subjects: [string, () => Promise<unknown>][] = [
      ["kv-redis (near cache)", () => cached.get("hot")],
      ["ioredis-raw GET + parse", async () => JSON.parse((await raw.get("hot")) ?? "null")],
      ["kv-redis (no near cache)", () => plain.get("hot")],
      ["@kv/memory", () => memory.get("hot")],
    ];
    for (const callers of [1, 100]) {
      for (const [subject, get] of subjects) {
        const opsPerSec = await throughput(callers, get);
        rows.push({ subject, callers, opsPerSec });
        progress(
          `near cache: get-hit ${subject.padEnd(26)} ${callers} caller(s) ${Math.round(opsPerSec)} ops/s`,
        );
      }
    }
    mix = await readWriteMix(cached, plain);
    twoProcesses = await twoProcessMix(server.url, quick ? 1 : 5);
    progress(
      `near cache: 90/10 mix from 2 processes: ${Math.round(twoProcesses.readsPerSec)} reads/s, ${Math.round(twoProcesses.writesPerSec)} writes/s; a write seen by the other process after median ${twoProcesses.lagMedianMs.toFixed(2)} ms, p99 ${twoProcesses.lagP99Ms.toFixed(2)} ms, max ${twoProcesses.lagMaxMs.toFixed(2)} ms (${twoProcesses.matched} writes matched, ${twoProcesses.unmatched} superseded unseen)`,
    );
    await Promise.all([cached.close(), plain.close(), memory.close()]);
    raw.disconnect();
  } finally {
    await server.stop();
  }
  const of = (subject: string, callers: number) =>
    rows.find((r) => r.subject === subject && r.callers === callers)!.opsPerSec;
  const ratios = {
    vsRawAt1: of("kv-redis (near cache)", 1) / of("ioredis-raw GET + parse", 1),
    vsMemoryAt1: of("kv-redis (near cache)", 1) / of("@kv/memory", 1),
    vsMemoryAt100: of("kv-redis (near cache)", 100) / of("@kv/memory", 100),
  };
  progress(
    `near cache: ${ratios.vsRawAt1.toFixed(1)}x raw ioredis at 1 caller; ${ratios.vsMemoryAt1.toFixed(2)}x / ${ratios.vsMemoryAt100.toFixed(2)}x @kv/memory at 1 / 100 callers`,
  );
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, "..", "results", quick ? "quick" : "");
  mkdirSync(dir, { recursive: true });
  const out = { quick, node: process.versions.node, rows, ratios, mix, twoProcesses };
  writeFileSync(join(dir, "near-cache.json"), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
}

/**
 * 90 % reads through the cached client, 10 % writes through the plain one, on 100 keys;
 * after each write, the cached client polls the key until it reads the new value.
 */
async function readWriteMix(cached: KVBackend, writer: KVBackend): Promise<Record<string, number>> {
  const keys = Array.from({ length: 100 }, (_, i) => `mix:${i}`);
  await writer.mset(keys.map((k) => [k, 0] as const));
  for (const key of keys) await cached.get(key);
  const lags: number[] = [];
  let reads = 0;
  const started = performance.now();
  for (let op = 0; op < (quick ? 2000 : 20_000); op++) {
    const key = keys[op % keys.length]!;
    if (op % 10 === 9) {
      await writer.set(key, op);
      const acked = performance.now();
      // Between polls the event loop runs: a cached hit answers without I/O, and a loop
      // of them alone would starve the connection that brings the invalidation.
      while ((await cached.get(key)) !== op) {
        reads++;
        await new Promise(setImmediate);
      }
      lags.push((performance.now() - acked) * 1000);
    } else {
      await cached.get(key);
      reads++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  lags.sort((a, b) => a - b);
  const result = {
    readsPerSec: reads / seconds,
    writes: lags.length,
    staleReadMedianUs: lags[Math.floor(lags.length / 2)]!,
    staleReadP99Us: lags[Math.floor(lags.length * 0.99)]!,
  };
  progress(
    `near cache: 90/10 mix: ${Math.round(result.readsPerSec)} reads/s; a write is read back after median ${result.staleReadMedianUs.toFixed(0)} µs, p99 ${result.staleReadP99Us.toFixed(0)} µs`,
  );
  return result;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
