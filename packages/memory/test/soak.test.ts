import { ManualClock } from "@kv/core";
import { describe, expect, it } from "vitest";
import { MemoryBackend } from "../src/index.js";

/**
 * Steady churn on a manual clock: every simulated millisecond `perMs` unique keys are
 * written with TTLs drawn from `ttlsMs` in turn, and nobody reads them. The entries held
 * must stay within 3x the live ones (the CI bound of the soak in apps/bench). Driven by
 * the clock and by explicit purge rounds, never by real time: the assertion holds on any
 * machine, however slow.
 */
async function churn(
  kv: MemoryBackend,
  clock: ManualClock,
  options: { perMs: number; ttlsMs: number[]; ms: number; roundEveryMs?: number },
): Promise<{ worst: number; held: number; live: number }> {
  const { perMs, ttlsMs, ms, roundEveryMs } = options;
  const deadlines: number[] = []; // of every key written, to count the live ones
  let first = 0; // deadlines are not sorted across TTLs: count the live ones directly
  let worst = 0;
  let n = 0;
  let live = 0;
  for (let t = 1; t <= ms; t++) {
    clock.advance(1);
    for (let i = 0; i < perMs; i++) {
      const ttl = ttlsMs[n % ttlsMs.length]!;
      await kv.set(`k${n++}`, i, { ttlSeconds: ttl / 1000 });
      deadlines.push(clock.now() + ttl);
    }
    if (roundEveryMs !== undefined && t % roundEveryMs === 0) kv.purger.runRound();
    if (t % 100 === 0) {
      const now = clock.now();
      while (first < deadlines.length && deadlines[first]! <= now - Math.max(...ttlsMs)) first++;
      live = 0;
      for (let i = first; i < deadlines.length; i++) if (deadlines[i]! > now) live++;
      // After the first TTL has passed, the store is in its steady state.
      if (t > Math.max(...ttlsMs)) worst = Math.max(worst, kv.size / live);
    }
  }
  return { worst, held: kv.size, live };
}

describe("soak: expired entries never pile up under churn", () => {
  it("writes help: held stays near live (uniform 1 s TTL, 20 writes/ms)", async () => {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeOnWrite: true });
    const r = await churn(kv, clock, { perMs: 20, ttlsMs: [1000], ms: 3000 });
    expect(r.worst).toBeLessThanOrEqual(1.05);
    await kv.close();
  });

  it("writes help: mixed TTLs (0.2 s, 1 s, 2 s)", async () => {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeOnWrite: true });
    const r = await churn(kv, clock, { perMs: 12, ttlsMs: [200, 1000, 2000], ms: 4000 });
    expect(r.worst).toBeLessThanOrEqual(1.1);
    await kv.close();
  });

  it("background rounds alone (one a second) keep held within 3x live", async () => {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeOnWrite: false });
    const r = await churn(kv, clock, {
      perMs: 20,
      ttlsMs: [200, 1000],
      ms: 4000,
      roundEveryMs: 1000,
    });
    expect(r.worst).toBeLessThanOrEqual(3);
    await kv.close();
  });

  it("without either (the injected-clock default), expired entries stay for purgeExpired", async () => {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock });
    const r = await churn(kv, clock, { perMs: 5, ttlsMs: [200], ms: 1000 });
    expect(kv.size).toBe(5000);
    expect(await kv.purgeExpired(10_000)).toBe(5000 - r.live);
    await kv.close();
  });
});
