import { ManualClock, namespaced } from "@kv/core";
import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryBackend } from "../src/index.js";

// A namespaced view must keep the whole contract on its own: run the suite through it,
// with a neighbour key outside the namespace that must never show up or change.
runConformanceSuite({
  name: "namespaced(@kv/memory)",
  test: { describe, it, beforeEach, afterEach },
  // The view purges its own expired entries, counted exactly (PURGE_EXPIRED_PREFIX).
  capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" },
  create: async ({ clock, maxValueBytes }) => {
    const store = new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false });
    await store.set("o", 0); // one byte of JSON: fits under any limit the suite sets
    return namespaced(store, "ns:");
  },
});

describe("namespaced", () => {
  it("never reads or writes outside its prefix, and strips it from scans", async () => {
    const store = new MemoryBackend({ purgeIntervalSeconds: false });
    await store.mset({ "a:x": 1, "b:x": 2, "a;": 3, a: 4 });
    const view = namespaced(store, "a:");
    expect(await view.get("x")).toBe(1);
    expect(await view.exists("b:x")).toBe(false);
    expect(await view.scanPrefix("")).toEqual(["x"]);
    await view.mset([["y", 5]]);
    await view.listAppendUnique("list", [{ id: 1 }]);
    expect(await store.scanPrefix("")).toEqual(["a", "a:list", "a:x", "a:y", "a;", "b:x"]);
    expect(await view.scanPrefix("", { after: "list" })).toEqual(["x", "y"]);
    await view.close();
    await expect(view.get("x")).rejects.toMatchObject({ code: "KV_CLOSED" });
    expect(await store.get("a:x")).toBe(1); // the store stays open for its owner
    await store.close();
  });

  it("purges its own expired entries, counted, and no one else's", async () => {
    const clock = new ManualClock();
    const store = new MemoryBackend({ clock, purgeIntervalSeconds: false, purgeOnWrite: false });
    await store.mset({ "a:1": 1, "a:2": 2, "a:3": 3, "b:1": 1, a: 0 }, { ttlSeconds: 1 });
    await store.set("a:live", 4);
    await store.set("a:later", 5, { ttlSeconds: 10 });
    clock.advance(1000);
    const a = namespaced(store, "a:");
    expect(await a.purgeExpired(2)).toBe(2);
    expect(await a.purgeExpired()).toBe(1);
    expect(await a.purgeExpired()).toBe(0);
    expect(await a.scanPrefix("")).toEqual(["later", "live"]);
    // The others' expired entries are still there for the store's own purge to count.
    expect(await store.purgeExpired()).toBe(2);
    // A view of a view purges under both prefixes.
    await store.set("a:x:1", 1, { ttlSeconds: 1 });
    await store.set("a:y", 1, { ttlSeconds: 1 });
    clock.advance(1000);
    expect(await namespaced(a, "x:").purgeExpired()).toBe(1);
    expect(await a.purgeExpired()).toBe(1);
    await expect(a.purgeExpired(0)).rejects.toMatchObject({ code: "KV_INVALID_ARGUMENT" });
    await store.close();
    await expect(a.purgeExpired()).rejects.toMatchObject({ code: "KV_CLOSED" });
  });

  it("checks keys before adding the prefix", async () => {
    const store = new MemoryBackend({ purgeIntervalSeconds: false });
    const view = namespaced(store, "a:");
    await expect(view.set("", 1)).rejects.toMatchObject({ code: "KV_INVALID_ARGUMENT" });
    await expect(view.mset({ "": 1 })).rejects.toMatchObject({ code: "KV_INVALID_ARGUMENT" });
    expect(await store.scanPrefix("")).toEqual([]);
    expect(() => namespaced(store, "")).toThrow(/prefix/);
    await store.close();
  });
});
