import type { KVBackend } from "../types.js";
import { expect } from "./assert.js";
import { SHORT_TTL, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/** The limit of every timed purge. */
const LIMIT = 1000;
/**
 * Expired entries each timed purge finds. Fewer than LIMIT on purpose: the removals
 * themselves cost the same in both stores and would drown the walk an O(n) purge adds.
 */
const EXPIRED = 100;
/** Live entries beside the batch: the small store and the big one. */
const SMALL = 1_000;
const BIG = 100_000;
/**
 * How much slower the purge beside BIG entries may be. An O(limit) purge is about as fast
 * in both stores (a bigger hash table costs a little in cache misses); an O(store size)
 * one is 50x to 100x slower with 100x the entries (a Map walk: ~1 ms against ~0.01 ms).
 * 20x leaves room for a loaded machine.
 */
const MAX_RATIO = 20;
/** Timed rounds per store; the fastest counts, as noise (GC, other processes) only adds. */
const ROUNDS = 7;

async function fill(kv: KVBackend, count: number, prefix: string): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const entries: [string, number][] = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) entries.push([`${prefix}${i}`, i]);
    await kv.mset(entries);
  }
}

export function definePurgeScalingTest(suite: Suite): void {
  const { describe, it } = suite.t;
  if (!suite.options.checkPurgeScaling || !suite.manual) {
    suite.leaveOut(
      "purgeExpired scaling check",
      suite.manual
        ? "off (checkPurgeScaling: true turns it on; it writes 100,000 entries)"
        : 'needs capabilities.clock "manual" (in-process backends)',
    );
    return;
  }

  // SPEC "The rest": "In-process backends count exactly and do it in time proportional
  // to limit, not to the store's size."
  describe("purgeExpired scaling", "The rest", () => {
    const h = useHarness(suite);

    /** The fastest of ROUNDS purges of EXPIRED fresh expired entries beside `kv`'s live ones. */
    async function fastestPurge(kv: KVBackend, label: string): Promise<number> {
      let fastest = Number.POSITIVE_INFINITY;
      for (let round = 0; round < ROUNDS; round++) {
        await kv.mset(
          Array.from({ length: EXPIRED }, (_, i) => [`expired:${round}:${i}`, i] as const),
          { ttlSeconds: SHORT_TTL },
        );
        await h.later(SHORT_TTL * 1000);
        const started = performance.now();
        const removed = await kv.purgeExpired(LIMIT);
        fastest = Math.min(fastest, performance.now() - started);
        if (suite.caps.purge === "exact") {
          expect(removed, `${label}: purgeExpired(${LIMIT}) with ${EXPIRED} expired`).toBe(EXPIRED);
        }
      }
      return fastest;
    }

    it(
      `purgeExpired(${LIMIT}) of ${EXPIRED} expired beside ${BIG} live entries takes at most ${MAX_RATIO}x as long as beside ${SMALL}`,
      async () => {
        const small = h.kv;
        const big = await h.open();
        await fill(small, SMALL, "live:");
        await fill(big, BIG, "live:");
        // Interleaved, so that a burst of load on the machine hits both.
        const smallMs = await fastestPurge(small, `beside ${SMALL}`);
        const bigMs = await fastestPurge(big, `beside ${BIG}`);
        const smallAgainMs = await fastestPurge(small, `beside ${SMALL}`);
        const base = Math.min(smallMs, smallAgainMs);
        // Near timer resolution a ratio means little: count at least 0.02 ms.
        const ratio = bigMs / Math.max(base, 0.02);
        expect(
          ratio,
          `purgeExpired(${LIMIT}) took ${bigMs.toFixed(2)} ms beside ${BIG} live entries and ${base.toFixed(2)} ms beside ${SMALL} (fastest of ${ROUNDS}): ${ratio.toFixed(1)}x; a purge that walks the whole store instead of an expiry index is O(n)`,
        ).toBeLessThanOrEqual(MAX_RATIO);
      },
      { timeoutMs: 120_000 },
    );
  });
}
