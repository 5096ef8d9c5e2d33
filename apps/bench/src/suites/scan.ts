import type { JsonValue, KVBackend } from "@kv/core";
import { collectGarbage } from "../measure.js";
import { progress } from "../progress.js";
import type { IndexCostResult, ScanResult } from "../results.js";

/**
 * scanPrefix by store size, on @kv/memory and @kv/lru (capacity = the key count): keys
 * written in a scattered order (a multiplicative hash of the counter, so insertion order
 * says nothing about sort order), small values, no TTL. Measured:
 * - the first scan, which builds the ordered index (a page of 100 from `""`);
 * - a first page of 100 after that (median of 21);
 * - a narrow prefix matching one key (median of 201 random keys, in µs);
 * - paging through every key 1,000 at a time (`after` = the last key of the page);
 * - for scale, one plain pass over the keys of a `Map` of the same size.
 */
const SUBJECTS: { name: string; create(keys: number): Promise<KVBackend> }[] = [
  {
    name: "kv-memory",
    async create() {
      const { MemoryBackend } = await import("@kv/memory");
      return new MemoryBackend({ purgeIntervalSeconds: false });
    },
  },
  {
    name: "kv-lru",
    async create(keys) {
      const { LruBackend } = await import("@kv/lru");
      return new LruBackend({ max: keys, purgeIntervalSeconds: false });
    },
  },
];

/** The i-th key: a bijection of the counter mod 2^32, in base 36, so keys are unique and scattered. */
export function scatteredKey(i: number): string {
  return `item:${(Math.imul(i, 2654435761) >>> 0).toString(36).padStart(7, "0")}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

async function fill(kv: KVBackend, keys: number): Promise<void> {
  const value = { id: 1, name: "x" } as JsonValue;
  for (let start = 0; start < keys; start += 1000) {
    const chunk: [string, JsonValue][] = [];
    for (let i = start; i < Math.min(keys, start + 1000); i++) chunk.push([scatteredKey(i), value]);
    await kv.mset(chunk);
  }
}

async function scanAt(subject: (typeof SUBJECTS)[number], keys: number): Promise<ScanResult> {
  collectGarbage();
  const kv = await subject.create(keys);
  try {
    await fill(kv, keys);
    collectGarbage();
    let t0 = performance.now();
    await kv.scanPrefix("", { limit: 100 });
    const firstScanMs = performance.now() - t0;

    const pages: number[] = [];
    for (let i = 0; i < 21; i++) {
      t0 = performance.now();
      await kv.scanPrefix("", { limit: 100 });
      pages.push(performance.now() - t0);
    }

    const narrow: number[] = [];
    let found = 0;
    for (let i = 0; i < 201; i++) {
      const key = scatteredKey((i * 7919) % keys);
      t0 = performance.now();
      found += (await kv.scanPrefix(key, { limit: 100 })).length;
      narrow.push(performance.now() - t0);
    }
    if (found !== 201)
      throw new Error(`narrow prefix found ${found} keys for 201 one-key prefixes`);

    t0 = performance.now();
    let paged = 0;
    let after: string | undefined;
    for (;;) {
      const page = await kv.scanPrefix("", { limit: 1000, after });
      paged += page.length;
      if (page.length < 1000) break;
      after = page.at(-1);
    }
    const fullPagingMs = performance.now() - t0;
    if (paged !== keys) throw new Error(`paging found ${paged} of ${keys} keys`);

    // One plain pass over a Map of as many keys, for scale.
    const map = new Map<string, number>();
    for (let i = 0; i < keys; i++) map.set(scatteredKey(i), i);
    t0 = performance.now();
    let n = 0;
    for (const key of map.keys()) if (key.startsWith("item:")) n++;
    const passMs = performance.now() - t0;
    if (n !== keys) throw new Error("pass");

    return {
      subject: subject.name,
      keys,
      firstScanMs,
      firstPageMs: median(pages),
      narrowUs: median(narrow) * 1000,
      fullPagingMs,
      passMs,
    };
  } finally {
    await kv.close();
  }
}

/**
 * What the ordered index costs a write: `n` sets of new keys into a store of `n` keys,
 * on a store that never scanned (no index) and on one that did (index kept). Awaited
 * one after another; ns per set, best of three rounds each, interleaved.
 */
async function indexCost(subject: (typeof SUBJECTS)[number], n: number): Promise<IndexCostResult> {
  const value = { id: 1, name: "x" } as JsonValue;
  const run = async (scanFirst: boolean) => {
    collectGarbage();
    const kv = await subject.create(4 * n);
    try {
      await fill(kv, n);
      if (scanFirst) await kv.scanPrefix("", { limit: 1 });
      const t0 = performance.now();
      for (let i = n; i < 2 * n; i++) await kv.set(scatteredKey(i), value);
      // A scan after the writes merges what they buffered: part of the cost.
      if (scanFirst) await kv.scanPrefix("", { limit: 1 });
      return ((performance.now() - t0) * 1e6) / n;
    } finally {
      await kv.close();
    }
  };
  const without: number[] = [];
  const withIndex: number[] = [];
  for (let r = 0; r < 3; r++) {
    without.push(await run(false));
    withIndex.push(await run(true));
  }
  return {
    subject: subject.name,
    keys: n,
    nsPerSetWithout: Math.min(...without),
    nsPerSetWith: Math.min(...withIndex),
  };
}

export async function runScan(
  sizes: number[],
  costKeys: number,
  out: { scan: ScanResult[]; indexCost: IndexCostResult[]; errors: string[] },
): Promise<void> {
  for (const subject of SUBJECTS) {
    for (const keys of sizes) {
      try {
        const r = await scanAt(subject, keys);
        out.scan.push(r);
        progress(
          `scaling scanPrefix ${subject.name.padEnd(10)} ${keys.toLocaleString("en-US").padStart(9)} keys: first scan ${r.firstScanMs.toFixed(1)} ms, page ${r.firstPageMs.toFixed(3)} ms, narrow ${r.narrowUs.toFixed(1)} µs, all pages ${r.fullPagingMs.toFixed(0)} ms (one Map pass ${r.passMs.toFixed(1)} ms)`,
        );
      } catch (err) {
        out.errors.push(`scan ${subject.name} at ${keys}: ${(err as Error).message}`);
        progress(`scaling scan ${subject.name}: ERROR ${(err as Error).message}`);
      }
    }
    try {
      const r = await indexCost(subject, costKeys);
      out.indexCost.push(r);
      progress(
        `scaling new-key set ${subject.name.padEnd(10)} ${r.nsPerSetWithout.toFixed(0)} ns without the scan index, ${r.nsPerSetWith.toFixed(0)} ns with it`,
      );
    } catch (err) {
      out.errors.push(`index cost ${subject.name}: ${(err as Error).message}`);
    }
  }
}
