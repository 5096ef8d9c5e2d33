import { ManualClock } from "@kv/core";
import { describe, expect, it } from "vitest";
import { LruBackend } from "../src/index.js";
import { LruModel, seeded } from "./helpers.js";

function backend(start = 0, max = 1_000) {
  const clock = new ManualClock(start);
  return { clock, kv: new LruBackend({ max, clock }) };
}

describe("TTL on the injected clock", () => {
  // 0 matters: lru-cache reads a start time of 0 as "no TTL". The others: an epoch-like
  // clock. A clock with fractions of a millisecond has a test of its own below.
  for (const start of [0, 1, 1_700_000_000_000]) {
    it(`expires exactly at the deadline (clock starting at ${start})`, async () => {
      const { clock, kv } = backend(start);
      await kv.set("k", "v", { ttlSeconds: 1 });
      expect(await kv.ttl("k")).toBe(1);
      clock.advance(999);
      expect(await kv.get("k")).toBe("v");
      expect(await kv.ttl("k")).toBe(0.001);
      clock.advance(1);
      expect(await kv.get("k", "gone")).toBe("gone");
      expect(await kv.exists("k")).toBe(false);
      expect(await kv.ttl("k")).toBeUndefined();
    });
  }

  // Ticks are whole milliseconds: with a clock that has fractions, a deadline is rounded
  // up to the next tick, so an entry is never expired early, and at most under 1 ms late.
  it("never expires early on a clock with fractions of a millisecond", async () => {
    const { clock, kv } = backend(10.5);
    await kv.set("k", "v", { ttlSeconds: 1 }); // deadline 1010.5
    expect(await kv.ttl("k")).toBe(1); // never more than the TTL given
    clock.advance(499.75); // 510.25
    expect(await kv.ttl("k")).toBe(0.5);
    clock.advance(500.15); // 1010.4
    expect(await kv.get("k")).toBe("v");
    expect(await kv.exists("k")).toBe(true);
    expect(await kv.ttl("k")).toBe(0.001);
    clock.advance(1); // 1011.4: past the deadline, past the tick it was rounded up to
    expect(await kv.get("k", "gone")).toBe("gone");
    expect(await kv.ttl("k")).toBeUndefined();
  });

  it("rounds fractional TTLs up to whole milliseconds and reports ms precision", async () => {
    const { clock, kv } = backend(5);
    await kv.set("a", 1, { ttlSeconds: 0.0015 });
    await kv.set("b", 1, { ttlSeconds: 0.0001 });
    await kv.set("c", 1, { ttlSeconds: 1.5 });
    expect(await kv.mget(["a", "b"])).toEqual([1, 1]);
    expect(await kv.ttl("a")).toBe(0.002);
    clock.advance(1);
    expect(await kv.mget(["a", "b"])).toEqual([1, undefined]);
    clock.advance(1);
    expect(await kv.exists("a")).toBe(false);
    clock.advance(248);
    expect(await kv.ttl("c")).toBe(1.25);
  });

  it("incr and listAppendUnique keep the TTL the key had; a TTL passed replaces it", async () => {
    const { clock, kv } = backend();
    await kv.set("n", 1, { ttlSeconds: 10 });
    await kv.listAppendUnique("l", [{ id: 1 }], { ttlSeconds: 10 });
    clock.advance(3_000);
    expect(await kv.incr("n")).toBe(2);
    expect(await kv.listAppendUnique("l", [{ id: 2 }])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await kv.listAppendUnique("l", [{ id: 2 }])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await kv.ttl("n")).toBe(7);
    expect(await kv.ttl("l")).toBe(7);
    clock.advance(6_999);
    expect(await kv.incr("n", 5)).toBe(7);
    expect(await kv.ttl("n")).toBe(0.001);
    expect(await kv.mget(["n", "l"])).toEqual([7, [{ id: 1 }, { id: 2 }]]);
    clock.advance(1);
    expect(await kv.mget(["n", "l"])).toEqual([undefined, undefined]);

    await kv.set("m", 1, { ttlSeconds: 10 });
    expect(await kv.incr("m", 1, { ttlSeconds: 2 })).toBe(2);
    expect(await kv.ttl("m")).toBe(2);
    await kv.listAppendUnique("k", [{ id: 1 }]);
    await kv.listAppendUnique("k", [], { ttlSeconds: 3 }); // nothing appended, TTL set
    expect(await kv.ttl("k")).toBe(3);
  });

  it("an expired key starts afresh, without the old TTL", async () => {
    const { clock, kv } = backend();
    await kv.set("n", 41, { ttlSeconds: 1 });
    await kv.set("l", [{ id: 1 }], { ttlSeconds: 1 });
    clock.advance(1_000);
    expect(await kv.incr("n")).toBe(1);
    expect(await kv.listAppendUnique("l", [{ id: 2 }])).toEqual([{ id: 2 }]);
    expect(await kv.ttl("n")).toBe(Number.POSITIVE_INFINITY);
    expect(await kv.ttl("l")).toBe(Number.POSITIVE_INFINITY);
  });

  it("set and mset replace the TTL; without one they clear it", async () => {
    const { clock, kv } = backend();
    await kv.set("a", 1, { ttlSeconds: 1 });
    await kv.set("a", 2);
    await kv.mset({ b: 1 }, { ttlSeconds: 1 });
    await kv.mset({ b: 2 }, { ttlSeconds: 5 });
    clock.advance(1_000);
    expect(await kv.mget(["a", "b"])).toEqual([2, 2]);
    expect(await kv.ttl("a")).toBe(Number.POSITIVE_INFINITY);
    expect(await kv.ttl("b")).toBe(4);
  });

  it("expire counts from now, and is false for missing or expired keys", async () => {
    const { clock, kv } = backend();
    await kv.set("a", 1, { ttlSeconds: 1 });
    clock.advance(500);
    expect(await kv.expire("a", 2)).toBe(true);
    expect(await kv.ttl("a")).toBe(2);
    clock.advance(1_999);
    expect(await kv.get("a")).toBe(1);
    clock.advance(1);
    expect(await kv.expire("a", 1)).toBe(false);
    expect(await kv.expire("never", 1)).toBe(false);
  });
});

describe("purgeExpired", () => {
  it("removes exactly min(limit, expired), soonest first, never a live entry", async () => {
    const { clock, kv } = backend(0, 1_000);
    const random = seeded(11);
    const deadlines = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const key = `k${i}`;
      if (i % 10 === 0) {
        await kv.set(key, i);
        deadlines.set(key, Number.POSITIVE_INFINITY);
      } else {
        const seconds = 1 + (i % 7);
        await kv.set(key, i, { ttlSeconds: seconds });
        deadlines.set(key, seconds * 1000);
      }
    }
    // Shuffle recency, and leave the index stale nodes: new TTLs, cleared TTLs, deletes.
    for (let i = 0; i < 300; i++) await kv.get(`k${random(300)}`);
    for (let i = 1; i < 300; i += 9) {
      const key = `k${i}`;
      const roll = random(3);
      if (roll === 0) {
        await kv.expire(key, 8);
        deadlines.set(key, 8_000);
      } else if (roll === 1) {
        await kv.set(key, "no ttl");
        deadlines.set(key, Number.POSITIVE_INFINITY);
      } else {
        await kv.delete(key);
        deadlines.delete(key);
      }
    }
    clock.advance(4_000);
    const expired = [...deadlines.values()].filter((d) => d <= 4_000).length;
    expect(expired).toBeGreaterThan(100);
    let removed = 0;
    for (;;) {
      const n = await kv.purgeExpired(10);
      expect(n).toBe(Math.min(10, expired - removed));
      removed += n;
      if (n === 0) break;
    }
    expect(removed).toBe(expired);
    const live = [...deadlines].filter(([, d]) => d > 4_000).map(([k]) => k);
    expect(kv.stats.entries).toBe(live.length);
    for (const key of live) expect(await kv.exists(key)).toBe(true);
    expect(kv.stats.expirations).toBe(expired);
  });

  it("stays exact after the deadline index compacts under churn and eviction", async () => {
    const max = 50;
    const { clock, kv } = backend(0, max);
    const model = new LruModel(max, undefined);
    const random = seeded(5);
    // 20,000 TTL writes on a 50-entry cache: the index compacts many times over.
    for (let i = 0; i < 20_000; i++) {
      const key = `k${random(120)}`;
      const ttlMs = 1_000 * (1 + random(5));
      await kv.set(key, i, { ttlSeconds: ttlMs / 1000 });
      model.write(key, ttlMs);
    }
    clock.advance(3_000);
    const expired = [...model.entries.values()].filter((e) => (e.value as number) <= 3_000).length;
    expect(await kv.purgeExpired(7)).toBe(Math.min(7, expired));
    expect(await kv.purgeExpired()).toBe(Math.max(0, expired - 7));
    expect(await kv.purgeExpired()).toBe(0);
    expect(kv.stats.entries).toBe(max - expired);
  });

  it("counts an entry once however it went: evicted or purged, a read in between or not", async () => {
    const { clock, kv } = backend(0, 2);
    await kv.set("a", 1, { ttlSeconds: 1 });
    await kv.set("b", 1, { ttlSeconds: 1 });
    clock.advance(1_000);
    await kv.get("a"); // a miss; the entry stays
    await kv.set("c", 1); // evicts a, already expired
    await kv.set("d", 1); // evicts b, already expired
    expect(await kv.purgeExpired()).toBe(0);
    expect(kv.stats.expirations).toBe(2);
  });
});
