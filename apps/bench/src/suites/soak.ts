import { monitorEventLoopDelay } from "node:perf_hooks";
import type { KVBackend } from "@kv/core";
import { progress } from "../progress.js";
import type { SoakResults, SoakRun, SoakSample } from "../results.js";

/**
 * The soak: steady churn in real time, nobody reading. A writer sets unique keys at a
 * fixed rate (sets awaited one after another, in turns of at most `TURN` writes, with a
 * `setImmediate` between turns so timers, the background purge among them, get their
 * turn), each with a TTL drawn from the run's TTLs in turn. Every second: the entries
 * the store holds, the live ones (written less than their TTL ago, counted by the
 * writer), and the heap after a full GC (the event-loop delay monitor is paused around
 * that GC, so the GC's own pause is not charged to the purge). Backends with their
 * default options on the system clock: background rounds every second and writes that
 * help. @kv/lru with `max` 1,000,000, as in the issue that asked for this.
 */
export interface SoakConfig {
  backend: "kv-memory" | "kv-lru";
  /** Sets per second. */
  rate: number;
  /** TTLs in ms, used in turn; none: the baseline, keys without TTL. */
  ttlsMs: number[];
  seconds: number;
}

/** Writes per turn of the event loop: small, so the writer itself never holds the loop for long. */
const TURN = 256;
const LRU_MAX = 1_000_000;

function configs(seconds: number, rates: number[], mixed: number): SoakConfig[] {
  // The baseline: the same writer without TTLs (nothing ever expires, nothing to purge),
  // for the event-loop delay the machine, the writer and the GC cause on their own.
  const out: SoakConfig[] = [{ backend: "kv-memory", rate: mixed, ttlsMs: [], seconds }];
  for (const backend of ["kv-memory", "kv-lru"] as const) {
    for (const rate of rates) out.push({ backend, rate, ttlsMs: [1000], seconds });
    out.push({ backend, rate: mixed, ttlsMs: [200, 1000, 5000], seconds });
  }
  return out;
}

/** The case (20,000 sets/s, 1 s TTL, 20 s) among several rates, and mixed TTLs. */
export const FULL_SOAK = configs(20, [5_000, 20_000, 80_000], 20_000);
export const QUICK_SOAK = configs(4, [20_000], 20_000);

/** A store under soak: the backend, how many entries it holds, its purge slices. */
export interface SoakStore {
  kv: KVBackend;
  held: () => number;
  slices: () => { longestSliceMs: number; removed: number };
}

async function create(backend: SoakConfig["backend"]): Promise<SoakStore> {
  if (backend === "kv-memory") {
    const { MemoryBackend } = await import("@kv/memory");
    const kv = new MemoryBackend();
    return { kv, held: () => kv.size, slices: () => kv.purger.stats };
  }
  const { LruBackend } = await import("@kv/lru");
  const kv = new LruBackend({ max: LRU_MAX });
  return { kv, held: () => kv.stats.entries, slices: () => kv.purger.stats };
}

function heapMiB(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function soakLabel(c: Pick<SoakConfig, "backend" | "rate" | "ttlsMs">): string {
  const ttl =
    c.ttlsMs.length === 0
      ? "no TTL (baseline)"
      : c.ttlsMs.length === 1
        ? `${c.ttlsMs[0]! / 1000} s TTL`
        : `TTLs ${c.ttlsMs.map((t) => t / 1000).join("/")} s`;
  return `${c.backend} ${(c.rate / 1000).toFixed(0)}k/s ${ttl}`;
}

/** One run; `factory` replaces the backend's default build (e.g. to soak an older version). */
export async function soak(
  config: SoakConfig,
  factory: () => Promise<SoakStore> = () => create(config.backend),
): Promise<SoakRun> {
  const { rate, ttlsMs, seconds } = config;
  globalThis.gc?.();
  const { kv, held, slices } = await factory();
  const value = { id: 1, name: "user-1", active: true };
  const options = ttlsMs.map((ms) => ({ ttlSeconds: ms / 1000 }));
  const classes = Math.max(1, ttlsMs.length);
  // Write times per TTL class, to count the live keys: a key is live until its TTL passes.
  const times = ttlsMs.map(() => [] as number[]);
  const firstLive = ttlsMs.map(() => 0);
  const samples: SoakSample[] = [];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const heap0 = heapMiB();
  delay.enable();
  const start = performance.now();
  let written = 0;
  let nextSample = 1000;
  try {
    for (;;) {
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000) break;
      const end = Math.min(Math.floor((rate * elapsed) / 1000), written + TURN);
      for (; written < end; written++) {
        const c = written % classes;
        await kv.set(`soak:${written}`, value, options[c]);
        times[c]?.push(performance.now());
      }
      if (elapsed >= nextSample) {
        const now = performance.now();
        let live = ttlsMs.length === 0 ? written : 0;
        for (let c = 0; c < ttlsMs.length; c++) {
          const t = times[c]!;
          let i = firstLive[c]!;
          while (i < t.length && t[i]! + ttlsMs[c]! <= now) i++;
          firstLive[c] = i;
          live += t.length - i;
          if (i > 100_000) {
            times[c] = t.slice(i);
            firstLive[c] = 0;
          }
        }
        const entries = held();
        delay.disable();
        const heap = heapMiB() - heap0;
        delay.enable();
        samples.push({ t: Math.round(elapsed / 1000), held: entries, live, heapMiB: heap });
        nextSample += 1000;
      }
      await turn();
    }
  } finally {
    delay.disable();
    await kv.close();
  }
  // Warm: after the longest TTL and a second (a short run: after its first two seconds).
  let warm = samples.filter((s) => s.t > Math.max(0, ...ttlsMs) / 1000 + 1);
  if (warm.length === 0) warm = samples.filter((s) => s.t >= 2);
  const ratio = (s: SoakSample) => s.held / Math.max(1, s.live);
  const half = samples.find((s) => s.t === Math.round(seconds / 2));
  const last = samples.at(-1);
  return {
    backend: config.backend,
    label: soakLabel(config),
    rate,
    ttlsMs,
    seconds,
    achievedRate: written / seconds,
    samples,
    worstHeldOverLive: Math.max(...warm.map(ratio)),
    endHeldOverLive: last ? ratio(last) : Number.NaN,
    heapHalfMiB: half?.heapMiB ?? Number.NaN,
    heapEndMiB: last?.heapMiB ?? Number.NaN,
    loopDelayMaxMs: delay.max / 1e6,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
    longestSliceMs: slices().longestSliceMs,
    purgedInBackground: slices().removed,
  };
}

export async function runSoak(list: SoakConfig[]): Promise<SoakResults> {
  const out: SoakResults = { runs: [], errors: [] };
  for (const config of list) {
    try {
      const r = await soak(config);
      out.runs.push(r);
      progress(
        `soak ${r.label.padEnd(36)} ${(r.achievedRate / 1000).toFixed(1)}k sets/s: held/live worst ${r.worstHeldOverLive.toFixed(2)}x, end ${r.endHeldOverLive.toFixed(2)}x; heap ${r.heapHalfMiB.toFixed(1)} → ${r.heapEndMiB.toFixed(1)} MiB; loop delay max ${r.loopDelayMaxMs.toFixed(1)} ms (p99 ${r.loopDelayP99Ms.toFixed(1)}); longest purge slice ${r.longestSliceMs.toFixed(2)} ms`,
      );
    } catch (err) {
      out.errors.push(`${soakLabel(config)}: ${(err as Error).message}`);
      progress(`soak ${soakLabel(config)}: ERROR ${(err as Error).message}`);
    }
  }
  return out;
}
