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

describe("background purge", () => {
  it("removes expired entries on its own, a bounded batch per tick", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const clock = new ManualClock();
    const kv = new MemoryBackend({ clock, purgeIntervalSeconds: 1, purgeBatchSize: 2 });
    await kv.mset({ a: 1, b: 2, c: 3 }, { ttlSeconds: 1 });
    await kv.set("live", 0);
    clock.advance(1000);
    expect(kv.size).toBe(4);
    vi.advanceTimersByTime(1000);
    expect(kv.size).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(kv.size).toBe(1);
    expect(await kv.get("live")).toBe(0);
    await kv.close();
  });

  it("can be turned off", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
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
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const manual = new MemoryBackend({ clock: new ManualClock() });
    expect(vi.getTimerCount()).toBe(0);
    const real = new MemoryBackend();
    expect(vi.getTimerCount()).toBe(1);
    await manual.close();
    await real.close();
  });

  it("stops with close()", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const kv = new MemoryBackend({ purgeIntervalSeconds: 1 });
    expect(vi.getTimerCount()).toBe(1);
    await kv.close();
    expect(vi.getTimerCount()).toBe(0);
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
