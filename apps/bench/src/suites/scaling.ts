import { type Clock, type JsonValue, type KVBackend, ManualClock } from "@kv/core";
import { keyOf, random, smallValue } from "../data.js";
import { collectGarbage, measure, type Timing } from "../measure.js";
import { formatOps, progress } from "../progress.js";
import type { GetAtSizeResult, HeapResult, PurgeResult, ScalingResults } from "../results.js";
import { BoundJsonStore } from "../subjects/bound-json.js";
import { KVBackendStore } from "../subjects/kv-backend.js";
import type { Store } from "../subjects/types.js";
import { runScan } from "./scan.js";

export interface ScalingSizes {
  /** Store sizes of the scanPrefix rows. */
  scanKeys: number[];
  /** New keys written to measure what the scan index costs a set. */
  indexCostKeys: number;
  purgeLiveKeys: number[];
  /** purgeExpired(1000) calls timed per store size. */
  purgeCalls: number;
  getKeys: number[];
  heapEntries: number;
}

export const FULL_SIZES: ScalingSizes = {
  scanKeys: [1_000, 100_000, 1_000_000],
  indexCostKeys: 200_000,
  purgeLiveKeys: [10_000, 100_000, 1_000_000],
  purgeCalls: 31,
  getKeys: [1_000, 1_000_000],
  heapEntries: 200_000,
};

export const QUICK_SIZES: ScalingSizes = {
  scanKeys: [1_000, 50_000],
  indexCostKeys: 20_000,
  purgeLiveKeys: [10_000, 50_000],
  purgeCalls: 5,
  getKeys: [1_000, 50_000],
  heapEntries: 20_000,
};

const PURGE_LIMIT = 1000;
const CHUNK = 1000;

/** The purgeable backends, built with a manual clock and no background purge. */
const PURGEABLE: { name: string; create(clock: Clock): Promise<KVBackend> }[] = [
  {
    name: "kv-memory",
    async create(clock) {
      const { MemoryBackend } = await import("@kv/memory");
      return new MemoryBackend({ clock, purgeIntervalSeconds: false });
    },
  },
  {
    name: "kv-lru",
    async create(clock) {
      const { LruBackend } = await import("@kv/lru");
      return new LruBackend({ max: 4_000_000, clock });
    },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Fills `backend` with `live` keys that outlive the run and, spread evenly among them,
 * `dead` keys that expire 1 ms later; then moves the clock past the short deadline.
 * With `liveTtl` every live key has a TTL too (an hour, varied per chunk), so an expiry
 * index holds all of them: the hard case, a cache whose every key expires some day.
 * Without, only the dead keys are in any index.
 */
async function fillForPurge(
  backend: KVBackend,
  clock: ManualClock,
  live: number,
  dead: number,
  liveTtl: boolean,
) {
  const value = smallValue(1) as JsonValue;
  const total = live + dead;
  let liveChunk: [string, JsonValue][] = [];
  let deadChunk: [string, JsonValue][] = [];
  let chunks = 0;
  for (let i = 0; i < total; i++) {
    // Exactly `dead` of the `total` positions, evenly spaced.
    const isDead = Math.floor(((i + 1) * dead) / total) > Math.floor((i * dead) / total);
    if (isDead) deadChunk.push([`dead:${i}`, value]);
    else liveChunk.push([`live:${i}`, value]);
    if (liveChunk.length === CHUNK) {
      await backend.mset(liveChunk, liveTtl ? { ttlSeconds: 3600 + (chunks++ % 97) } : undefined);
      liveChunk = [];
    }
    if (deadChunk.length === CHUNK) {
      await backend.mset(deadChunk, { ttlSeconds: 0.001 });
      deadChunk = [];
    }
  }
  if (liveChunk.length > 0)
    await backend.mset(liveChunk, liveTtl ? { ttlSeconds: 3600 } : undefined);
  if (deadChunk.length > 0) await backend.mset(deadChunk, { ttlSeconds: 0.001 });
  clock.advance(1000);
}

/** Times `calls` successive purgeExpired(1000) calls beside `live` live keys; the median. */
async function timePurge(
  subject: (typeof PURGEABLE)[number],
  live: number,
  calls: number,
  liveTtl: boolean,
): Promise<PurgeResult> {
  collectGarbage();
  const clock = new ManualClock(1_000_000);
  const backend = await subject.create(clock);
  try {
    await fillForPurge(backend, clock, live, calls * PURGE_LIMIT, liveTtl);
    collectGarbage();
    const times: number[] = [];
    const removed: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      removed.push(await backend.purgeExpired(PURGE_LIMIT));
      times.push(performance.now() - t0);
    }
    return {
      subject: subject.name,
      liveKeys: live,
      liveTtl,
      msPerCall: median(times),
      removedPerCall: median(removed),
    };
  } finally {
    await backend.close();
  }
}

async function runPurge(sizes: ScalingSizes, out: ScalingResults): Promise<void> {
  for (const subject of PURGEABLE) {
    try {
      // A first, small round so the JIT has compiled the purge before the timed ones.
      await timePurge(subject, 1000, 5, true);
      for (const liveTtl of [true, false]) {
        for (const live of sizes.purgeLiveKeys) {
          const r = await timePurge(subject, live, sizes.purgeCalls, liveTtl);
          out.purge.push(r);
          progress(
            `scaling purgeExpired(1000) ${subject.name.padEnd(10)} beside ${live.toLocaleString("en-US").padStart(9)} live keys ${liveTtl ? "with TTLs   " : "without TTL"}: ${r.msPerCall.toFixed(3)} ms, removed ${r.removedPerCall}`,
          );
        }
      }
    } catch (err) {
      out.errors.push(`purge ${subject.name}: ${(err as Error).message}`);
      progress(`scaling purge ${subject.name}: ERROR ${(err as Error).message}`);
    }
  }
}

/**
 * The rows of the size checks, built for a given number of entries: kv-lru gets exactly
 * that capacity (lru-cache allocates its index for `max` slots up front, so a cache
 * sized far beyond its content would show a heap per entry no user would see).
 */
const SIZED: readonly { name: string; create(capacity: number): Promise<Store> }[] = [
  { name: "bound-json", create: async () => new BoundJsonStore() },
  {
    name: "kv-memory",
    async create() {
      const { MemoryBackend } = await import("@kv/memory");
      return new KVBackendStore(new MemoryBackend());
    },
  },
  {
    name: "kv-lru",
    async create(capacity) {
      const { LruBackend } = await import("@kv/lru");
      return new KVBackendStore(new LruBackend({ max: capacity }));
    },
  },
];

async function fillStore(store: Store, keys: number): Promise<void> {
  const value = smallValue(1);
  for (let i = 0; i < keys; i++) await store.set(keyOf(i), value);
}

async function runGetAtSize(sizes: ScalingSizes, timing: Timing, out: ScalingResults) {
  for (const keys of sizes.getKeys) {
    const next = random(7);
    const order = Array.from({ length: 4096 }, () => keyOf(Math.floor(next() * keys)));
    for (const subject of SIZED) {
      let store: Store | undefined;
      try {
        collectGarbage();
        store = await subject.create(keys);
        await fillStore(store, keys);
        const s = store;
        let i = 0;
        const m = await measure(
          `get at ${keys}`,
          {
            batch: 256,
            async run() {
              for (let n = 0; n < 256; n++) {
                await s.get(order[i]!);
                i = (i + 1) & 4095;
              }
            },
          },
          timing,
        );
        const r: GetAtSizeResult = { subject: subject.name, keys, opsPerSec: m.opsPerSec };
        out.getAtSize.push(r);
        progress(
          `scaling get hit at ${keys.toLocaleString("en-US").padStart(9)} keys ${subject.name.padEnd(10)} ${formatOps(r.opsPerSec)} ops/s`,
        );
      } catch (err) {
        out.errors.push(`get at ${keys} ${subject.name}: ${(err as Error).message}`);
        progress(`scaling get ${subject.name}: ERROR ${(err as Error).message}`);
      } finally {
        await store?.close();
        store = undefined;
      }
    }
  }
}

function heapUsed(): number {
  // Twice: the first full GC can leave work (weak callbacks, finalizers) for a second.
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap bytes per entry: heap in use after `entries` sets minus before, both after full
 * GCs. Keys are made inside the measured span, so they count: a store holds its keys.
 */
async function heapPerEntry(
  subject: (typeof SIZED)[number],
  entries: number,
  ttl: boolean,
): Promise<HeapResult> {
  const before = heapUsed();
  const store = await subject.create(entries);
  for (let i = 0; i < entries; i++) {
    const key = `heap:${String(i).padStart(7, "0")}`;
    if (ttl) await store.setTtl!(key, smallValue(i), 3600);
    else await store.set(key, smallValue(i));
  }
  const after = heapUsed();
  await store.close();
  return { subject: subject.name, ttl, entries, bytesPerEntry: (after - before) / entries };
}

async function runHeap(sizes: ScalingSizes, out: ScalingResults): Promise<void> {
  if (typeof globalThis.gc !== "function") {
    out.errors.push(
      "heap: run node with --expose-gc (the start script does) to measure heap per entry",
    );
    progress("scaling heap: skipped, global.gc is not exposed (run with --expose-gc)");
    return;
  }
  for (const ttl of [false, true]) {
    for (const subject of SIZED) {
      try {
        const r = await heapPerEntry(subject, sizes.heapEntries, ttl);
        out.heap.push(r);
        progress(
          `scaling heap ${subject.name.padEnd(10)} ${ttl ? "with TTL   " : "without TTL"} ${r.bytesPerEntry.toFixed(0)} B/entry (${sizes.heapEntries.toLocaleString("en-US")} entries)`,
        );
      } catch (err) {
        out.errors.push(`heap ${subject.name}: ${(err as Error).message}`);
        progress(`scaling heap ${subject.name}: ERROR ${(err as Error).message}`);
      }
    }
  }
}

export async function runScaling(sizes: ScalingSizes, timing: Timing): Promise<ScalingResults> {
  const out: ScalingResults = {
    purge: [],
    getAtSize: [],
    heap: [],
    scan: [],
    indexCost: [],
    errors: [],
  };
  // Heap first, on a heap not yet fragmented by the big stores of the other parts.
  await runHeap(sizes, out);
  await runPurge(sizes, out);
  await runGetAtSize(sizes, timing, out);
  await runScan(sizes.scanKeys, sizes.indexCostKeys, out as Required<ScalingResults>);
  return out;
}
