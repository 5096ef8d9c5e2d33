// Churn check for @kv/lru (not part of the test run): 1,000,000 writes into a cache bounded
// by maxBytes. After every write the accounted size must be within maxBytes; every 100,000
// writes the heap is measured after a full GC, and should stay flat once the cache is full.
//
//   pnpm -F @kv/lru build && node --expose-gc scripts/churn.mjs [writes] [maxBytes]
import { LruBackend } from "../dist/index.js";

const writes = Number(process.argv[2] ?? 1_000_000);
const maxBytes = Number(process.argv[3] ?? 8 * 1024 * 1024);
const sample = Math.max(1, Math.floor(writes / 10));
if (typeof globalThis.gc !== "function") {
  console.error("run with node --expose-gc for meaningful heap figures");
  process.exit(2);
}

const kv = new LruBackend({ maxBytes });
let seed = 12345;
const random = (n) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return Math.floor(((seed >>> 0) / 2 ** 32) * n);
};
const pad = "abcdefghijklmnopqrstuvwxyzé€中😀".repeat(40);

const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);
function heap() {
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

let over = 0;
let peak = 0;
const rows = [{ writes: 0, heapMiB: mib(heap()), entries: 0, cacheMiB: "0.0", evictions: 0 }];
const started = performance.now();
for (let i = 1; i <= writes; i++) {
  const roll = random(100);
  if (roll < 80) {
    // Plain values, a quarter of them with a TTL (exercises the deadline index too).
    const value = { i, text: pad.slice(0, 20 + random(400)) };
    const options = roll < 20 ? { ttlSeconds: 60 } : undefined;
    await kv.set(`key:${random(400_000)}`, value, options);
  } else if (roll < 95) {
    // Lists growing in place, and popped now and then.
    await kv.listAppendUnique(`list:${random(2_000)}`, [{ id: random(50), at: i }]);
  } else if (roll < 98) {
    await kv.listPopAll(`list:${random(2_000)}`);
  } else {
    await kv.incr(`counter:${random(1_000)}`);
  }
  const { bytes } = kv.stats;
  if (bytes > maxBytes) over++;
  if (bytes > peak) peak = bytes;
  if (i % sample === 0) {
    const { entries, evictions } = kv.stats;
    rows.push({ writes: i, heapMiB: mib(heap()), entries, cacheMiB: mib(bytes), evictions });
  }
}
const seconds = (performance.now() - started) / 1000;

console.table(rows);
console.log(
  `${writes} writes in ${seconds.toFixed(1)} s; maxBytes ${maxBytes} (${mib(maxBytes)} MiB); ` +
    `peak accounted ${peak}; writes that left it over maxBytes: ${over}`,
);
const heaps = rows.slice(3).map((r) => Number(r.heapMiB));
if (heaps.length > 1) {
  console.log(`heap once full: min ${Math.min(...heaps)} MiB, max ${Math.max(...heaps)} MiB`);
}
await kv.close();
process.exit(over === 0 ? 0 : 1);
