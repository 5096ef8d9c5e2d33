import { describe, expect, it } from "vitest";
import { LruBackend } from "../src/index.js";
import { entryBytes, LruModel, mixedText, seeded } from "./helpers.js";

// Enough writes to cycle the cache many times over; the 1,000,000-write churn with heap
// figures is scripts/churn.mjs (a unit test must not depend on how fast the machine is).
const WRITES = 10_000;

describe("capacity by entry count", () => {
  it("never holds more than max entries under churn, and keeps the most recent ones", async () => {
    const max = 64;
    const kv = new LruBackend({ max });
    const model = new LruModel(max, undefined);
    const random = seeded(7);
    const over: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const key = `k${random(200)}`;
      if (random(10) < 2) {
        expect(await kv.get(key)).toEqual(model.read(key));
      } else {
        await kv.set(key, i);
        model.write(key, i);
        if (kv.stats.entries > max) over.push(i);
      }
    }
    expect(over).toEqual([]);
    expect(kv.stats.entries).toBe(max);
    expect(kv.stats.evictions).toBe(model.evicted.length);
    const held = await kv.scanPrefix("", { limit: 1000 });
    expect(held).toEqual([...model.entries.keys()].sort());
    expect(await kv.mget(held)).toEqual(held.map((k) => model.entries.get(k)?.value));
  });
});

describe("capacity by bytes", () => {
  it("keeps the accounted size within maxBytes after every write under churn", async () => {
    const maxBytes = 8_000;
    const kv = new LruBackend({ maxBytes });
    const model = new LruModel(undefined, maxBytes);
    const random = seeded(42);
    const violations: string[] = [];
    let rejected = 0;
    for (let i = 0; i < WRITES; i++) {
      const roll = random(100);
      if (roll < 65) {
        // Values from empty to a large share of the cache, in mixed-width UTF-8.
        const key = `key:${mixedText(random, 1 + random(6))}`;
        const value = { n: i, text: mixedText(random, random(random(10) === 0 ? 6000 : 300)) };
        const fits = model.write(key, value);
        const outcome = await kv.set(key, value).then(
          () => "stored",
          (error: { code?: string }) => error.code,
        );
        if (outcome !== (fits ? "stored" : "KV_VALUE_TOO_LARGE"))
          violations.push(`${i}: ${outcome}`);
        if (!fits) rejected++;
      } else if (roll < 85) {
        // Lists grow in place: every append is accounted at the list's new size.
        const key = `list:${random(8)}`;
        const item = { id: random(60), note: mixedText(random, random(40)) };
        const current = (model.entries.get(key)?.value as { id: number }[] | undefined) ?? [];
        const next = current.some((x) => x.id === item.id) ? current : [...current, item];
        const outcome = await kv.listAppendUnique(key, [item]).then(
          () => "stored",
          (error: { code?: string }) => error.code,
        );
        const fits = entryBytes(key, next) <= maxBytes;
        if (fits) {
          if (next === current) model.read(key);
          else model.write(key, next);
        }
        if (outcome !== (fits ? "stored" : "KV_VALUE_TOO_LARGE"))
          violations.push(`${i}: ${outcome}`);
      } else if (roll < 90) {
        const key = `list:${random(8)}`;
        expect(await kv.listPopAll(key)).toEqual(model.entries.get(key)?.value ?? []);
        model.remove(key);
      } else {
        const key = `n:${random(20)}`;
        const next = ((model.entries.get(key)?.value as number | undefined) ?? 0) + 1;
        expect(await kv.incr(key)).toBe(next);
        model.write(key, next);
      }
      const { bytes, entries } = kv.stats;
      if (bytes > maxBytes) violations.push(`${i}: ${bytes} bytes held`);
      if (bytes !== model.bytes || entries !== model.entries.size) {
        violations.push(
          `${i}: held ${entries}/${bytes}, model ${model.entries.size}/${model.bytes}`,
        );
      }
      if (violations.length > 5) break;
    }
    expect(violations).toEqual([]);
    expect(rejected).toBeGreaterThan(0);
    expect(kv.stats.evictions).toBe(model.evicted.length);

    // The accounting matches the entries actually held, recomputed from scratch.
    const keys = await kv.scanPrefix("", { limit: 100_000 });
    const values = await kv.mget(keys);
    const recomputed = keys.reduce((sum, key, i) => sum + entryBytes(key, values[i]), 0);
    expect(recomputed).toBe(kv.stats.bytes);
    expect(keys).toEqual([...model.entries.keys()].sort());
  });

  it("holds both bounds at once", async () => {
    const kv = new LruBackend({ max: 10, maxBytes: 200 });
    const model = new LruModel(10, 200);
    const random = seeded(3);
    for (let i = 0; i < 2_000; i++) {
      const key = `k${random(30)}`;
      const value = "x".repeat(random(60));
      await kv.set(key, value);
      model.write(key, value);
      expect(kv.stats.entries).toBeLessThanOrEqual(10);
      expect(kv.stats.bytes).toBeLessThanOrEqual(200);
    }
    expect(kv.stats.bytes).toBe(model.bytes);
    expect(await kv.scanPrefix("")).toEqual([...model.entries.keys()].sort());
  });

  it("counts the key and the JSON text, both as UTF-8", async () => {
    const kv = new LruBackend({ maxBytes: 1_000 });
    await kv.set("abc", "xyz"); // 3 + 5 ("xyz" with its quotes)
    expect(kv.stats.bytes).toBe(8);
    await kv.set("é", "€"); // 2 + (1 + 3 + 1)
    expect(kv.stats.bytes).toBe(8 + 7);
    await kv.set("abc", { a: [1, 2] }); // 3 + 11: the overwrite replaces the old size
    expect(kv.stats.bytes).toBe(14 + 7);
    await kv.delete("é");
    expect(kv.stats.bytes).toBe(14);
  });

  it("stores an entry of exactly maxBytes, evicting everything else", async () => {
    const evicted: string[] = [];
    const kv = new LruBackend({ maxBytes: 20, onEvict: (key) => evicted.push(key) });
    await kv.set("a", 1);
    await kv.set("b", 2);
    await kv.set("big", "x".repeat(15)); // 3 + 17 = 20
    expect(kv.stats).toMatchObject({ bytes: 20, entries: 1, evictions: 2 });
    expect(evicted).toEqual(["a", "b"]);
    expect(await kv.get("big")).toBe("x".repeat(15));
  });
});

describe("an entry larger than the whole cache", () => {
  it("is rejected with KV_VALUE_TOO_LARGE, and nothing is evicted or lost", async () => {
    const evicted: string[] = [];
    const kv = new LruBackend({ maxBytes: 100, onEvict: (key) => evicted.push(key) });
    await kv.set("keep", "me");
    await kv.set("k", "old");
    const before = kv.stats;
    await expect(kv.set("k", "x".repeat(200))).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
      message: expect.stringContaining(
        'set: the entry for "k" is 203 bytes (key + JSON), over the cache\'s maxBytes (100)',
      ),
    });
    // One byte over: key (2) + JSON (99) = 101.
    await expect(kv.set("kk", "x".repeat(97))).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
    });
    await expect(kv.mset({ a: 1, k: "y".repeat(150) })).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
    });
    await expect(kv.incr("keep")).rejects.toMatchObject({ code: "KV_WRONG_TYPE" });
    expect(await kv.mget(["keep", "k", "a", "kk"])).toEqual(["me", "old", undefined, undefined]);
    expect(kv.stats).toMatchObject({ bytes: before.bytes, entries: 2, evictions: 0 });
    expect(evicted).toEqual([]);
  });

  it("covers a list append that would outgrow the cache: the list is kept as it was", async () => {
    const kv = new LruBackend({ maxBytes: 60 });
    const list = await kv.listAppendUnique("l", [{ id: 1 }, { id: 2 }]); // 1 + 19
    expect(list).toEqual([{ id: 1 }, { id: 2 }]);
    expect(kv.stats.bytes).toBe(20);
    await kv.listAppendUnique("l", [{ id: 3 }]);
    expect(kv.stats.bytes).toBe(29);
    await expect(kv.listAppendUnique("l", [{ id: 4, pad: "p".repeat(30) }])).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
    });
    expect(await kv.get("l")).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(kv.stats.bytes).toBe(29);
  });

  it("covers an mset batch that could not be held at once (by bytes or by count)", async () => {
    const bytes = new LruBackend({ maxBytes: 50 });
    await bytes.set("old", 0);
    // Each entry fits, but together (3 × 21 bytes) they would evict one another.
    const batch = { a: "x".repeat(18), b: "y".repeat(18), c: "z".repeat(18) };
    await expect(bytes.mset(batch)).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
      message: expect.stringContaining("mset: the batch is 63 bytes"),
    });
    expect(await bytes.mget(["old", "a", "b", "c"])).toEqual([0, undefined, undefined, undefined]);

    const count = new LruBackend({ max: 2 });
    await expect(
      count.mset([
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ]),
    ).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
      message: expect.stringContaining("mset: the batch has 3 keys, over the cache's max (2)"),
    });
    // Repeated keys count once: the last pair wins, and two distinct keys fit.
    await count.mset([
      ["a", 1],
      ["b", 2],
      ["a", 3],
    ]);
    expect(await count.mget(["a", "b"])).toEqual([3, 2]);
  });

  it("is told apart from a value over maxValueBytes", async () => {
    const kv = new LruBackend({ maxBytes: 1_000, maxValueBytes: 10 });
    await expect(kv.set("k", "x".repeat(20))).rejects.toMatchObject({
      code: "KV_VALUE_TOO_LARGE",
      message: expect.stringContaining("maxValueBytes (10)"),
    });
  });
});
