import { ManualClock } from "@kv/core";
import { describe, expect, it } from "vitest";
import { LruBackend } from "../src/index.js";

/**
 * Steady churn on a manual clock (as in @kv/memory's soak test): every simulated
 * millisecond `perMs` unique keys are written with the TTL `ttlMs`, and nobody reads
 * them. Driven by the clock and explicit purge rounds, never by real time.
 */
async function churn(
  kv: LruBackend,
  clock: ManualClock,
  options: { perMs: number; ttlMs: number; ms: number; roundEveryMs?: number },
): Promise<{ worst: number; live: number }> {
  const { perMs, ttlMs, ms, roundEveryMs } = options;
  let worst = 0;
  let n = 0;
  for (let t = 1; t <= ms; t++) {
    clock.advance(1);
    for (let i = 0; i < perMs; i++) await kv.set(`k${n++}`, i, { ttlSeconds: ttlMs / 1000 });
    if (roundEveryMs !== undefined && t % roundEveryMs === 0) kv.purger.runRound();
    // Keys written in the last ttlMs milliseconds are live.
    if (t > ttlMs && t % 100 === 0) worst = Math.max(worst, kv.stats.entries / (perMs * ttlMs));
  }
  return { worst, live: perMs * Math.min(ms, ttlMs) };
}

describe("soak: expired entries never pile up under churn", () => {
  it("writes help: held stays near live (1 s TTL, 20 writes/ms, max 1,000,000)", async () => {
    const clock = new ManualClock();
    const kv = new LruBackend({ max: 1_000_000, clock, purgeOnWrite: true });
    const r = await churn(kv, clock, { perMs: 20, ttlMs: 1000, ms: 3000 });
    expect(r.worst).toBeLessThanOrEqual(1.05);
    expect(kv.stats.evictions).toBe(0);
    await kv.close();
  });

  it("background rounds alone (one a second) keep held within 3x live", async () => {
    const clock = new ManualClock();
    const kv = new LruBackend({ max: 1_000_000, clock, purgeOnWrite: false });
    const r = await churn(kv, clock, { perMs: 10, ttlMs: 500, ms: 3000, roundEveryMs: 1000 });
    expect(r.worst).toBeLessThanOrEqual(3);
    await kv.close();
  });

  it("capacity is not spent on expired entries while live ones are evicted", async () => {
    // Room for 1.2x the live keys: without help, expired entries fill it and lru-cache
    // evicts them (reported as expirations) only in recency order, behind live ones.
    const clock = new ManualClock();
    const helped = new LruBackend({ max: 6_000, clock, purgeOnWrite: true });
    await churn(helped, clock, { perMs: 10, ttlMs: 500, ms: 2000 });
    expect(helped.stats.evictions).toBe(0);
    expect(helped.stats.expirations).toBe(20_000 - 5_000);
    await helped.close();

    // Mixed TTLs under pressure: short-lived keys beside long-lived ones. Without help the
    // cache evicts live long-lived keys while expired short-lived ones take room.
    for (const purgeOnWrite of [true, false]) {
      const c = new ManualClock();
      const kv = new LruBackend({ max: 2_000, clock: c, purgeOnWrite });
      for (let t = 1; t <= 2000; t++) {
        c.advance(1);
        await kv.set(`short${t}`, t, { ttlSeconds: 0.1 }); // ~100 live at a time
        if (t % 2 === 0) await kv.set(`long${t}`, t, { ttlSeconds: 60 }); // 1,000 by the end
      }
      if (purgeOnWrite) expect(kv.stats.evictions).toBe(0);
      else expect(kv.stats.evictions).toBeGreaterThan(0);
      await kv.close();
    }
  });
});
