import { afterEach, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { deployments, haveRedis, sleep, uniquePrefix } from "./helpers.js";

// The near cache as users turn it on: the `nearCache` option or `?nearCache=<max>`. The
// module itself is tested in near-cache.test.ts, the contract in near-cache-conformance.

/** SPEC "Near cache": the bound the README states (the default maxStalenessMs). */
const STALENESS_BOUND_MS = 2000;

describe.skipIf(!haveRedis).each(deployments)("nearCache on RedisBackend ($name)", ({ url }) => {
  const open: RedisBackend[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((kv) => kv.close()));
  });
  const backend = (options: ConstructorParameters<typeof RedisBackend>[0]) => {
    const kv = new RedisBackend(options);
    open.push(kv);
    return kv;
  };

  it("is off by default, on with ?nearCache=<max>, and then serves repeated reads from memory", async () => {
    const prefix = uniquePrefix("near");
    const plain = backend({ url: url(), prefix });
    expect(plain.nearCacheStats).toBeUndefined();
    const base = url();
    const cached = backend({
      url: `${base}${base.includes("?") ? "&" : "?"}nearCache=1000`,
      prefix,
    });
    await cached.set("k", { n: 1 });
    expect(await cached.nearCacheReady(10_000)).toBe(true);
    await cached.get("k");
    const before = cached.nearCacheStats!;
    for (let i = 0; i < 100; i++) expect(await cached.get("k")).toEqual({ n: 1 });
    const after = cached.nearCacheStats!;
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(99);
    // Fresh copies: a caller mutating what it read changes nothing for the next read.
    const copy = (await cached.get<{ n: number }>("k"))!;
    copy.n = 99;
    expect(await cached.get("k")).toEqual({ n: 1 });
  });

  it("reads its own writes at once, and another client's within the bound", async () => {
    const prefix = uniquePrefix("near");
    const cached = backend({ url: url(), prefix, nearCache: { max: 1000 } });
    const other = backend({ url: url(), prefix });
    await cached.set("k", 1);
    expect(await cached.nearCacheReady(10_000)).toBe(true);
    const lags: number[] = [];
    for (let i = 2; i < 52; i++) {
      expect(await cached.get("k")).toBe(i - 1); // cached now
      await cached.incr("k"); // own write: visible at once
      expect(await cached.get("k")).toBe(i);
      await other.set("k", i); // another client's: the same value, written again
      await other.set("k", i * 1000);
      const written = performance.now();
      while ((await cached.get("k")) !== i * 1000) {
        expect(
          performance.now() - written,
          "another client's write seen within the bound",
        ).toBeLessThan(STALENESS_BOUND_MS);
        await sleep(0);
      }
      lags.push(performance.now() - written);
      await cached.set("k", i);
    }
    lags.sort((a, b) => a - b);
    console.info(
      `near cache: another client's write seen after median ${lags[25]!.toFixed(2)} ms, max ${lags.at(-1)!.toFixed(2)} ms`,
    );
    expect(await cached.exists("k")).toBe(true);
    await other.delete("k");
    const deleted = performance.now();
    while (await cached.exists("k")) {
      expect(performance.now() - deleted).toBeLessThan(STALENESS_BOUND_MS);
      await sleep(0);
    }
  });

  it("keeps TTLs: a cached entry is never served past its key's deadline", async () => {
    const cached = backend({ url: url(), prefix: uniquePrefix("near"), nearCache: { max: 1000 } });
    await cached.set("short", "v", { ttlSeconds: 0.3 });
    expect(await cached.nearCacheReady(10_000)).toBe(true);
    expect(await cached.get("short")).toBe("v");
    expect(await cached.get("short")).toBe("v");
    const ttl = await cached.ttl("short");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(0.3);
    await sleep(400);
    expect(await cached.get("short")).toBeUndefined();
    expect(await cached.mget(["short"])).toEqual([undefined]);
  });

  it("rejects a bad nearCache option with KV_INVALID_ARGUMENT", () => {
    expect(() => new RedisBackend({ url: url(), nearCache: { max: 0 } })).toThrow(/max/);
    expect(() => new RedisBackend(`${url()}?nearCache=abc`)).toThrow(/nearCache/);
  });
});
