import { ManualClock } from "@kv/core";
import { describe, expect, it } from "vitest";
import { type EvictionReason, LruBackend, type LruBackendOptions } from "../src/index.js";

function recorded(options: LruBackendOptions) {
  const events: [string, EvictionReason][] = [];
  const kv = new LruBackend({ ...options, onEvict: (key, reason) => events.push([key, reason]) });
  return { kv, events };
}

describe("eviction order", () => {
  it("evicts the least recently used entries first, and says so", async () => {
    const { kv, events } = recorded({ max: 3 });
    for (const key of ["a", "b", "c", "d", "e"]) await kv.set(key, key);
    expect(events).toEqual([
      ["a", "evict"],
      ["b", "evict"],
    ]);
    expect(await kv.scanPrefix("")).toEqual(["c", "d", "e"]);
  });

  it("a get makes a key survive the next eviction", async () => {
    const { kv, events } = recorded({ max: 3 });
    await kv.mset([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    expect(await kv.get("a")).toBe(1);
    await kv.set("d", 4);
    expect(events).toEqual([["b", "evict"]]);
    expect(await kv.mget(["a", "b", "c", "d"])).toEqual([1, undefined, 3, 4]);
  });

  it("mget, writes and in-place updates count as uses too", async () => {
    const { kv, events } = recorded({ max: 4 });
    // Oldest first: a, b, c, d.
    await kv.mset([
      ["a", 1],
      ["b", 2],
      ["c", [] as number[]],
      ["d", 4],
    ]);
    await kv.mget(["a"]); // b, c, d, a
    await kv.listAppendUnique("b", [{ id: 1 }]).catch(() => undefined); // KV_WRONG_TYPE, still a use: c, d, a, b
    await kv.listAppendUnique("c", [{ id: 1 }]); // d, a, b, c
    await kv.incr("d"); // a, b, c, d
    await kv.set("e", 5);
    await kv.set("f", 6);
    expect(events.map(([key]) => key)).toEqual(["a", "b"]);
  });

  it("exists, ttl and scanPrefix leave recency alone", async () => {
    const { kv, events } = recorded({ max: 3 });
    await kv.mset([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    expect(await kv.exists("a")).toBe(true);
    expect(await kv.ttl("a")).toBe(Number.POSITIVE_INFINITY);
    expect(await kv.scanPrefix("a")).toEqual(["a"]);
    await kv.set("d", 4);
    expect(events).toEqual([["a", "evict"]]);
  });

  it("evicts by bytes from the old end until the new entry fits", async () => {
    const { kv, events } = recorded({ maxBytes: 30 });
    await kv.set("a", "xxxxxxx"); // 1 + 9 = 10
    await kv.set("b", "xxxxxxx");
    await kv.set("c", "xxxxxxx");
    await kv.get("a");
    await kv.set("d", "x".repeat(15)); // 18: b and c must go, a was used last
    expect(events).toEqual([
      ["b", "evict"],
      ["c", "evict"],
    ]);
    expect(kv.stats).toMatchObject({ bytes: 28, entries: 2 });
  });
});

describe("onEvict", () => {
  it("reports expirations with the reason expire, on eviction and on purge, never on a read", async () => {
    const clock = new ManualClock(0);
    const { kv, events } = recorded({ max: 3, clock });
    await kv.set("evicted", 1, { ttlSeconds: 1 });
    await kv.set("read", 1, { ttlSeconds: 1 });
    await kv.set("purged", 1, { ttlSeconds: 1 });
    clock.advance(1000);
    // A read sees the key gone but leaves the entry for the purge (as @kv/memory does).
    expect(await kv.get("read")).toBeUndefined();
    expect(events).toEqual([]);
    await kv.set("x", 1); // the cache is full: the least recently used entry goes
    expect(events).toEqual([["evicted", "expire"]]);
    expect(await kv.purgeExpired()).toBe(2);
    expect(events.slice(1).sort()).toEqual([
      ["purged", "expire"],
      ["read", "expire"],
    ]);
    expect(kv.stats).toMatchObject({ evictions: 0, expirations: 3 });
  });

  it("an expired entry chosen for eviction counts as an expiration, not an eviction", async () => {
    const clock = new ManualClock(0);
    const { kv, events } = recorded({ max: 2, clock });
    await kv.set("old", 1, { ttlSeconds: 1 });
    await kv.set("live", 2);
    clock.advance(1000);
    await kv.set("new", 3);
    expect(events).toEqual([["old", "expire"]]);
    expect(kv.stats).toMatchObject({ evictions: 0, expirations: 1 });
    await kv.set("newer", 4);
    expect(events.at(-1)).toEqual(["live", "evict"]);
  });

  it("is not called for delete, listPopAll, overwrites or close", async () => {
    const { kv, events } = recorded({ max: 5 });
    await kv.set("a", 1);
    await kv.set("a", 2);
    await kv.delete("a");
    await kv.listAppendUnique("l", [{ id: 1 }]);
    await kv.listPopAll("l");
    await kv.mset({ b: 1, c: 2 });
    await kv.close();
    expect(events).toEqual([]);
  });

  it("runs after the operation's change is complete: a hook sees the whole batch", async () => {
    const seen: Promise<unknown>[] = [];
    const kv: LruBackend = new LruBackend({
      max: 3,
      onEvict: () => {
        seen.push(kv.mget(["x", "y", "z"]));
      },
    });
    await kv.mset({ a: 1, b: 2, c: 3 });
    await kv.mset({ x: 1, y: 2, z: 3 });
    expect(seen).toHaveLength(3);
    for (const view of await Promise.all(seen)) expect(view).toEqual([1, 2, 3]);
  });

  it("a hook that throws fails neither the operation nor the other hooks; its error is rethrown later", async () => {
    const reported: string[] = [];
    const kv = new LruBackend({
      max: 1,
      onEvict: (key) => {
        reported.push(key);
        throw new Error(`hook failed for ${key}`);
      },
    });
    await kv.set("a", 1);
    // Capture the rethrow instead of letting it reach the test runner as uncaught.
    const queued: (() => void)[] = [];
    const original = globalThis.queueMicrotask;
    let write: Promise<void>;
    globalThis.queueMicrotask = (task) => queued.push(task);
    try {
      write = kv.set("b", 2);
    } finally {
      globalThis.queueMicrotask = original;
    }
    await expect(write).resolves.toBeUndefined();
    expect(reported).toEqual(["a"]);
    expect(await kv.get("b")).toBe(2);
    expect(queued).toHaveLength(1);
    expect(() => queued[0]!()).toThrow("hook failed for a");
  });
});

describe("stats", () => {
  it("counts hits, misses, evictions and expirations", async () => {
    const clock = new ManualClock(1_000);
    const kv = new LruBackend({ max: 2, clock });
    expect(kv.stats).toEqual({
      hits: 0,
      misses: 0,
      evictions: 0,
      expirations: 0,
      entries: 0,
      bytes: 0,
    });
    await kv.set("a", 1, { ttlSeconds: 1 });
    await kv.get("a"); // hit
    await kv.get("nope"); // miss
    await kv.mget(["a", "a", "nope"]); // 2 hits, 1 miss
    clock.advance(1_000);
    await kv.get("a"); // miss; the expired entry stays until it goes
    await kv.mset({ b: 1, c: 2 }); // c evicts a, already expired: an expiration
    await kv.set("d", 3); // evicts b
    expect(kv.stats).toEqual({
      hits: 3,
      misses: 3,
      evictions: 1,
      expirations: 1,
      entries: 2,
      bytes: 0,
    });
  });

  it("mget answers a miss with a real undefined slot, not a hole", async () => {
    const kv = new LruBackend({ max: 2 });
    await kv.set("b", 2);
    const values = await kv.mget(["a", "b", "c"]);
    expect(values).toStrictEqual([undefined, 2, undefined]);
    expect(Object.keys(values)).toEqual(["0", "1", "2"]);
  });

  it("are a snapshot: later operations do not change an earlier reading", async () => {
    const kv = new LruBackend({ max: 2 });
    const before = kv.stats;
    await kv.get("x");
    expect(before.misses).toBe(0);
    expect(kv.stats.misses).toBe(1);
  });
});
