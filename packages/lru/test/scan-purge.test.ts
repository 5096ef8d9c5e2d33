import { ManualClock, namespaced } from "@kv/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LruBackend } from "../src/index.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("scanPrefix on the ordered index", () => {
  it("finds a key written over an expired entry that the first scan indexed", async () => {
    const clock = new ManualClock();
    const kv = new LruBackend({ max: 10, clock });
    await kv.set("a", 1, { ttlSeconds: 1 });
    await kv.set("b", 2);
    clock.advance(1000);
    expect(await kv.scanPrefix("")).toEqual(["b"]); // builds the index; "a" is expired
    await kv.set("a", 3); // over the expired entry: the cache does not grow
    expect(await kv.scanPrefix("")).toEqual(["a", "b"]);
    await kv.close();
  });

  it("keeps up with evictions and new keys at capacity", async () => {
    const kv = new LruBackend({ max: 3 });
    await kv.mset({ a: 1, b: 2, c: 3 });
    expect(await kv.scanPrefix("")).toEqual(["a", "b", "c"]);
    await kv.set("d", 4); // evicts "a"
    await kv.set("a", 5); // evicts "b"; "a" is new again
    expect(await kv.scanPrefix("")).toEqual(["a", "c", "d"]);
    expect(await kv.scanPrefix("", { after: "a", limit: 1 })).toEqual(["c"]);
    await kv.close();
  });
});

const TIMERS: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate"],
};

describe("background purge", () => {
  it("removes expired entries on its own when asked for under a manual clock", async () => {
    vi.useFakeTimers(TIMERS);
    const clock = new ManualClock();
    const evicted: string[] = [];
    const kv = new LruBackend({
      max: 1000,
      clock,
      purgeIntervalSeconds: 1,
      onEvict: (key, reason) => evicted.push(`${key}:${reason}`),
    });
    for (let i = 0; i < 300; i++) await kv.set(`k${i}`, i, { ttlSeconds: 1 });
    await kv.set("live", 0);
    clock.advance(1000);
    vi.advanceTimersByTime(1000);
    // A round is slices of at most 2 ms of real time, each yielding (setImmediate) to the
    // next: on a loaded machine it takes several. Let them run, however many there are.
    for (let i = 0; i < 1000 && kv.stats.entries > 1; i++) vi.advanceTimersByTime(1);
    expect(kv.stats).toMatchObject({ entries: 1, expirations: 300, evictions: 0 });
    expect(kv.purger.stats.removed).toBe(300);
    expect(evicted).toHaveLength(300);
    expect(evicted[0]).toBe("k0:expire");
    expect(await kv.get("live")).toBe(0);
    await kv.close();
  });

  it("is off by default with an injected clock, on by default without; close() stops it", async () => {
    vi.useFakeTimers(TIMERS);
    const manual = new LruBackend({ max: 10, clock: new ManualClock() });
    expect(vi.getTimerCount()).toBe(0);
    const real = new LruBackend({ max: 10 });
    expect(vi.getTimerCount()).toBe(1);
    await manual.close();
    await real.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects bad purge options", () => {
    expect(() => new LruBackend({ max: 1, purgeIntervalSeconds: 0 })).toThrow(
      /purgeIntervalSeconds/,
    );
    expect(() => new LruBackend({ max: 1, purgeOnWrite: "yes" as unknown as boolean })).toThrow(
      /purgeOnWrite/,
    );
  });
});

describe("a namespaced view's purgeExpired", () => {
  it("removes and counts the view's own expired entries, reported as expirations", async () => {
    const clock = new ManualClock();
    const events: [string, string][] = [];
    const kv = new LruBackend({
      max: 100,
      clock,
      purgeIntervalSeconds: false,
      onEvict: (key, reason) => events.push([key, reason]),
    });
    await kv.mset({ "a:1": 1, "a:2": 2, "b:1": 3 }, { ttlSeconds: 1 });
    await kv.set("a:live", 4);
    clock.advance(1000);
    const a = namespaced(kv, "a:");
    expect(await a.purgeExpired(1)).toBe(1);
    expect(await a.purgeExpired()).toBe(1);
    expect(await a.purgeExpired()).toBe(0);
    expect(events.sort()).toEqual([
      ["a:1", "expire"],
      ["a:2", "expire"],
    ]);
    expect(await a.scanPrefix("")).toEqual(["live"]);
    expect(await kv.purgeExpired()).toBe(1); // "b:1", left for the store's own purge
    await kv.close();
  });
});
