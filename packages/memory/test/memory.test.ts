import { isKVError, ManualClock } from "@kv/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryBackend } from "../src/index.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("MemoryBackend options", () => {
  it("rejects bad options with KV_INVALID_ARGUMENT naming the option", () => {
    const bad: [object, RegExp][] = [
      [{ maxValueBytes: 0 }, /maxValueBytes/],
      [{ maxValueBytes: 1.5 }, /maxValueBytes/],
      [{ purgeIntervalSeconds: 0 }, /purgeIntervalSeconds/],
      [{ purgeIntervalSeconds: Number.NaN }, /purgeIntervalSeconds/],
      [{ purgeBatchSize: 0 }, /purgeBatchSize/],
    ];
    for (const [options, message] of bad) {
      let error: unknown;
      try {
        new MemoryBackend(options);
      } catch (e) {
        error = e;
      }
      expect(isKVError(error, "KV_INVALID_ARGUMENT"), JSON.stringify(options)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

// setTimeout for the rounds, setImmediate between the slices of a round.
const TIMERS: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate"],
};

describe("background purge", () => {
  it("removes expired entries on its own, slice after slice until none is left", async () => {
    vi.useFakeTimers(TIMERS);
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeIntervalSeconds: 1, purgeBatchSize: 2 });
    await kv.mset({ a: 1, b: 2, c: 3, d: 4, e: 5 }, { ttlSeconds: 1 });
    await kv.set("live", 0);
    clock.advance(1000);
    expect(kv.size).toBe(6);
    vi.advanceTimersByTime(999);
    expect(kv.size).toBe(6);
    vi.advanceTimersByTime(1);
    // One round: batches of 2 within a slice, more slices while it finds a full batch (a
    // slice is at most 2 ms of real time, so a loaded machine may need several, each a
    // setImmediate later: let them run).
    for (let i = 0; i < 100 && kv.size > 1; i++) vi.advanceTimersByTime(1);
    expect(kv.size).toBe(1);
    expect(kv.purger.stats.removed).toBe(5);
    expect(await kv.get("live")).toBe(0);
    // And again a round later.
    await kv.set("x", 1, { ttlSeconds: 0.5 });
    clock.advance(500);
    vi.advanceTimersByTime(1000);
    expect(kv.size).toBe(1);
    await kv.close();
  });

  it("can be turned off", async () => {
    vi.useFakeTimers(TIMERS);
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeIntervalSeconds: false });
    await kv.set("a", 1, { ttlSeconds: 1 });
    clock.advance(5000);
    vi.advanceTimersByTime(10_000);
    expect(kv.size).toBe(1);
    expect(await kv.purgeExpired()).toBe(1);
    await kv.close();
  });

  it("is off by default with an injected clock, on by default without", async () => {
    vi.useFakeTimers(TIMERS);
    const manual = new MemoryBackend({ clock: new ManualClock() });
    expect(vi.getTimerCount()).toBe(0);
    const real = new MemoryBackend();
    expect(vi.getTimerCount()).toBe(1);
    await manual.close();
    await real.close();
  });

  it("stops with close()", async () => {
    vi.useFakeTimers(TIMERS);
    const kv = new MemoryBackend({ purgeIntervalSeconds: 1 });
    expect(vi.getTimerCount()).toBe(1);
    await kv.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("writes help the purge", () => {
  async function expiredStore(purgeOnWrite?: boolean) {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeOnWrite });
    for (let i = 0; i < 10; i++) await kv.set(`old${i}`, i, { ttlSeconds: 1 });
    await kv.set("plain", 0);
    clock.advance(1000);
    return kv;
  }

  it("with purgeOnWrite, each write with a TTL removes up to two expired entries", async () => {
    const kv = await expiredStore(true);
    await kv.set("new", 1, { ttlSeconds: 10 });
    expect(kv.size).toBe(12 - 2);
    await kv.set("plain", 1); // no TTL: no clock read, no help
    expect(kv.size).toBe(10);
    await kv.mset({ m1: 1, m2: 2 }, { ttlSeconds: 10 });
    expect(kv.size).toBe(12 - 4);
    await kv.incr("n", 1, { ttlSeconds: 10 });
    await kv.listAppendUnique("l", [{ id: 1 }], { ttlSeconds: 10 });
    await kv.expire("plain", 10);
    // incr and listAppendUnique add a key each and take the last four expired ones.
    expect(kv.size).toBe(8 + 2 - 4);
    // What is left for purgeExpired is counted exactly.
    expect(await kv.purgeExpired()).toBe(0);
    await kv.close();
  });

  it("is off by default under an injected clock: purgeExpired counts every expired entry", async () => {
    const kv = await expiredStore();
    await kv.set("new", 1, { ttlSeconds: 10 });
    expect(kv.size).toBe(12);
    expect(await kv.purgeExpired()).toBe(10);
    await kv.close();
  });
});

describe("expiry index", () => {
  it("purges in deadline order and only what has expired, however the TTLs were changed", async () => {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeIntervalSeconds: false });
    for (let i = 0; i < 100; i++) await kv.set(`k${i}`, i, { ttlSeconds: (100 - i) / 10 });
    // Rewrite some: a longer TTL, no TTL, a shorter TTL through expire().
    for (let i = 0; i < 100; i += 10) await kv.set(`k${i}`, i, { ttlSeconds: 100 });
    for (let i = 1; i < 100; i += 10) await kv.set(`k${i}`, i);
    await kv.expire("k99", 50);
    clock.advance(5000); // k50..k98 but the rewritten ones have expired
    const expired = [];
    for (let i = 50; i < 99; i++) if (i % 10 !== 0 && i % 10 !== 1) expired.push(i);
    expect(await kv.purgeExpired(10)).toBe(10);
    expect(await kv.purgeExpired()).toBe(expired.length - 10);
    expect(await kv.purgeExpired()).toBe(0);
    expect(kv.size).toBe(100 - expired.length);
    expect(await kv.get("k99")).toBe(99);
    expect(await kv.get("k1")).toBe(1);
    await kv.close();
  });
});

describe("scanPrefix on the ordered index", () => {
  it("follows deletes, re-adds, expiry and purges after the first scan", async () => {
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock });
    await kv.mset({ "a:1": 1, "a:2": 2, "b:1": 3 });
    expect(await kv.scanPrefix("a:")).toEqual(["a:1", "a:2"]); // builds the index
    await kv.delete("a:1");
    await kv.set("a:3", 3, { ttlSeconds: 1 });
    expect(await kv.scanPrefix("a:")).toEqual(["a:2", "a:3"]);
    await kv.set("a:1", 10); // back, as a new entry
    clock.advance(1000); // a:3 expires
    expect(await kv.scanPrefix("a:")).toEqual(["a:1", "a:2"]);
    expect(await kv.purgeExpired()).toBe(1);
    await kv.set("a:3", 30); // back after the purge
    expect(await kv.scanPrefix("", { after: "a:1", limit: 2 })).toEqual(["a:2", "a:3"]);
    expect(await kv.scanPrefix("a:\uffff")).toEqual([]);
    await kv.close();
  });
});
