import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MixReport } from "./mix-worker.js";

/** What the two-process mix measured (`near-cache.ts`). */
export interface TwoProcessMix {
  processes: number;
  keys: number;
  seconds: number;
  readsPerSec: number;
  writesPerSec: number;
  /** Writes matched with the other process's first read at least as new. */
  matched: number;
  /** Writes the other process never read before the run ended (superseded or last). */
  unmatched: number;
  /** ms from one process's acknowledged write until the other read it (or wrote the key itself). */
  lagMedianMs: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

const here = dirname(fileURLToPath(import.meta.url));

function runWorker(url: string, name: string, seconds: number, keys: number): Promise<MixReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(here, "mix-worker.ts"), url, name, String(seconds), String(keys)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`near cache mix worker ${name} exited with ${code}`));
      else resolve(JSON.parse(out) as MixReport);
    });
  });
}

/**
 * Two OS processes, each a 90 % read / 10 % write mix on the same keys through its own
 * near-cached client. For every write one process had acknowledged, the time until the
 * other process read that value or a newer one (or superseded it with its own write, after
 * which its reads are its own): the staleness a reader in another process sees, measured
 * on one machine's wall clock.
 */
export async function twoProcessMix(url: string, seconds: number): Promise<TwoProcessMix> {
  const keys = 100;
  const reports = await Promise.all(["a", "b"].map((name) => runWorker(url, name, seconds, keys)));
  const lags: number[] = [];
  let unmatched = 0;
  for (const writer of reports) {
    for (const reader of reports) {
      if (reader === writer) continue;
      // The reader's first sightings of this writer's values, and its own write acks, per key.
      const sightings = new Map<number, [seq: number, at: number][]>();
      for (const [k, w, s, at] of reader.firstSeen) {
        if (w !== writer.worker) continue;
        const list = sightings.get(k) ?? [];
        list.push([s, at]);
        sightings.set(k, list);
      }
      const ownAcks = new Map<number, number[]>();
      for (const [k, , at] of reader.acked) {
        const list = ownAcks.get(k) ?? [];
        list.push(at);
        ownAcks.set(k, list);
      }
      for (const [k, s, ackedAt] of writer.acked) {
        const seen = sightings.get(k)?.find(([seq]) => seq >= s)?.[1];
        const superseded = ownAcks.get(k)?.find((at) => at >= ackedAt);
        const caughtUp = Math.min(seen ?? Infinity, superseded ?? Infinity);
        if (caughtUp === Infinity) unmatched++;
        else lags.push(Math.max(0, caughtUp - ackedAt));
      }
    }
  }
  lags.sort((a, b) => a - b);
  const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(lags.length * q))] ?? NaN;
  const elapsed = Math.max(...reports.map((r) => r.seconds));
  return {
    processes: reports.length,
    keys,
    seconds: elapsed,
    readsPerSec: reports.reduce((n, r) => n + r.reads, 0) / elapsed,
    writesPerSec: reports.reduce((n, r) => n + r.writes, 0) / elapsed,
    matched: lags.length,
    unmatched,
    lagMedianMs: at(0.5),
    lagP99Ms: at(0.99),
    lagMaxMs: lags.at(-1) ?? NaN,
  };
}
