/**
 * `pnpm bench:waiting`: what a waiting pop (`listPopAll(key, { waitSeconds })`) costs.
 *
 * - Wake-up latency: from the producer's `listAppendUnique` call to the waiter's promise
 *   resolving with the item, median and p99, for @kv/memory, @kv/lru and @kv/redis (the
 *   Redis producer is a second client, as another process would be).
 * - Idle cost on Redis: 1,000 waiters on 1,000 keys for 10 s (`--quick`: 3 s): the
 *   process's CPU time and the server's commands per second while nobody writes.
 *
 * Targets: in-process median <= 50 µs; Redis loopback median <= 1 ms, p99 <= 5 ms;
 * 0 commands/s while idle. Results: results/waiting.json (and printed).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KVBackend } from "@kv/core";
import { createLruBackend } from "@kv/lru";
import { MemoryBackend } from "@kv/memory";
import { redisCommand, startRedis } from "@kv/redis-harness";
import { progress } from "./progress.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 200 : 2000;
const IDLE_WAITERS = 1000;
const IDLE_MS = quick ? 3000 : 10_000;

interface Latency {
  backend: string;
  rounds: number;
  medianUs: number;
  p99Us: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** One waiter, one producer, `ROUNDS` times: the time from the append to the wake-up. */
async function wakeLatency(name: string, waiter: KVBackend, producer: KVBackend): Promise<Latency> {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const key = `wake:${i}`;
    let woke = 0;
    const waiting = waiter.listPopAll(key, { waitSeconds: 10 }).then((items) => {
      woke = performance.now();
      return items;
    });
    // Let the wait settle in (on Redis: its subscription is up) before the append.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const sent = performance.now();
    await producer.listAppendUnique(key, [{ id: i }]);
    const items = await waiting;
    if (items.length !== 1) throw new Error(`${name}: round ${i} got ${items.length} items`);
    samples.push((woke - sent) * 1000);
  }
  samples.sort((a, b) => a - b);
  const result = {
    backend: name,
    rounds: ROUNDS,
    medianUs: percentile(samples, 50),
    p99Us: percentile(samples, 99),
  };
  progress(
    `waiting: ${name.padEnd(10)} wake-up median ${result.medianUs.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs (${ROUNDS} rounds)`,
  );
  return result;
}

async function commandsProcessed(port: number): Promise<number> {
  const info = String(await redisCommand(port, "INFO", "stats"));
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function main(): Promise<void> {
  const latency: Latency[] = [];
  const memory = new MemoryBackend();
  latency.push(await wakeLatency("memory", memory, memory));
  await memory.close();
  // @kv/lru as createLruBackend() makes it (max 10,000). lru-cache clears arrays of
  // length `max` when its last entry goes (packages/lru/README.md): an inbox that empties
  // the cache pays for its size on every pop.
  const lru = createLruBackend();
  latency.push(await wakeLatency("lru", lru, lru));
  await lru.close();

  const server = await startRedis();
  let idle: { waiters: number; seconds: number; cpuMs: number; commandsPerSec: number };
  try {
    const { RedisBackend } = await import("@kv/redis");
    const waiter = new RedisBackend({ url: server.url });
    const producer = new RedisBackend({ url: server.url });
    await Promise.all([waiter.exists("warm-up"), producer.exists("warm-up")]);
    latency.push(await wakeLatency("redis", waiter, producer));

    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < IDLE_WAITERS; i++) {
      waits.push(waiter.listPopAll(`idle:${i}`, { waitSeconds: IDLE_MS / 1000 + 30 }));
    }
    // Let the waits subscribe and make their first pop, then count what idling costs.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = await commandsProcessed(server.port);
    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const used = process.cpuUsage(cpu);
    // Minus the INFO commands of this measurement itself.
    const commands = (await commandsProcessed(server.port)) - before - 1;
    idle = {
      waiters: IDLE_WAITERS,
      seconds: IDLE_MS / 1000,
      cpuMs: (used.user + used.system) / 1000,
      commandsPerSec: commands / (IDLE_MS / 1000),
    };
    progress(
      `waiting: redis idle ${IDLE_WAITERS} waiters for ${idle.seconds} s: CPU ${idle.cpuMs.toFixed(1)} ms, ${idle.commandsPerSec.toFixed(2)} commands/s`,
    );
    await waiter.close();
    await Promise.allSettled(waits);
    await producer.close();
  } finally {
    await server.stop();
  }

  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, "..", "results", quick ? "quick" : "");
  mkdirSync(dir, { recursive: true });
  const out = { quick, node: process.versions.node, latency, idle };
  writeFileSync(join(dir, "waiting.json"), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
