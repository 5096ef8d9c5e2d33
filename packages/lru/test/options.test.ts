import { isKVError, ManualClock } from "@kv/core";
import { describe, expect, it } from "vitest";
import {
  createLruBackend,
  DEFAULT_LRU_MAX,
  LruBackend,
  type LruBackendOptions,
} from "../src/index.js";

function constructionError(options: unknown): unknown {
  try {
    new LruBackend(options as LruBackendOptions);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("LruBackend options", () => {
  it("requires max or maxBytes", () => {
    for (const options of [{}, { clock: new ManualClock() }, undefined, null, 5]) {
      const error = constructionError(options);
      expect(isKVError(error, "KV_INVALID_ARGUMENT"), String(options)).toBe(true);
    }
    expect(String(constructionError({}))).toContain("LruBackend: options must set max");
  });

  it("rejects bounds that are not positive integers", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10", 2 ** 53]) {
      for (const name of ["max", "maxBytes"]) {
        const error = constructionError({ [name]: bad });
        expect(isKVError(error, "KV_INVALID_ARGUMENT"), `${name}: ${String(bad)}`).toBe(true);
        expect(String(error)).toContain(`${name} must be a positive integer`);
      }
    }
  });

  it("rejects a bad clock, onEvict or maxValueBytes", () => {
    for (const options of [
      { max: 1, clock: {} },
      { max: 1, clock: Date.now },
      { max: 1, onEvict: "log" },
      { max: 1, maxValueBytes: 0 },
      { max: 1, maxValueBytes: 1.5 },
    ]) {
      expect(isKVError(constructionError(options), "KV_INVALID_ARGUMENT")).toBe(true);
    }
  });

  it("accepts either bound or both", () => {
    expect(new LruBackend({ max: 5 })).toMatchObject({ max: 5, maxBytes: undefined });
    expect(new LruBackend({ maxBytes: 50 })).toMatchObject({ max: undefined, maxBytes: 50 });
    expect(new LruBackend({ max: 5, maxBytes: 50 })).toMatchObject({ max: 5, maxBytes: 50 });
  });

  it("createLruBackend defaults to DEFAULT_LRU_MAX entries when given no bound", async () => {
    expect(DEFAULT_LRU_MAX).toBe(10_000);
    expect(createLruBackend()).toMatchObject({ max: DEFAULT_LRU_MAX, maxBytes: undefined });
    expect(createLruBackend({ maxBytes: 1000 })).toMatchObject({ max: undefined, maxBytes: 1000 });
    expect(
      isKVError(
        captured(() => createLruBackend({ max: 0 })),
        "KV_INVALID_ARGUMENT",
      ),
    ).toBe(true);

    const kv = createLruBackend();
    await kv.mset(Array.from({ length: DEFAULT_LRU_MAX }, (_, i) => [`k${i}`, i] as const));
    await kv.set("one-more", true);
    expect(kv.stats).toMatchObject({ entries: DEFAULT_LRU_MAX, evictions: 1 });
    expect(await kv.exists("k0")).toBe(false);
  });
});

describe("close", () => {
  it("is idempotent, empties the cache, and every later call rejects with KV_CLOSED", async () => {
    const evicted: string[] = [];
    const kv = new LruBackend({ max: 10, onEvict: (key) => evicted.push(key) });
    await kv.set("a", 1);
    await kv.close();
    await kv.close();
    expect(kv.stats.entries).toBe(0);
    const calls: Promise<unknown>[] = [
      kv.get("a"),
      kv.set("a", 1),
      kv.delete("a"),
      kv.listAppendUnique("a", [{ id: 1 }]),
      kv.listPopAll("a"),
      kv.mget(["a"]),
      kv.mset({ a: 1 }),
      kv.expire("a", 1),
      kv.purgeExpired(),
      kv.exists("a"),
      kv.ttl("a"),
      kv.incr("a"),
      kv.scanPrefix(""),
    ];
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: "KV_CLOSED" });
    // Closing drops entries, but that is the caller's doing, not an eviction.
    expect(evicted).toEqual([]);
  });
});

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
