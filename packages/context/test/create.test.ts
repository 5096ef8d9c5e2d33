import { isKVError, type KVBackend, KVError, ManualClock } from "@kv/core";
import { LruBackend } from "@kv/lru";
import { MemoryBackend } from "@kv/memory";
import { afterEach, describe, expect, it } from "vitest";
import { createKV, knownSchemes, provideBackendPackage, registerBackend } from "../src/index.js";

const opened: KVBackend[] = [];
async function open(
  url?: string | URL,
  overrides?: Parameters<typeof createKV>[1],
): Promise<KVBackend> {
  const kv = await createKV(url, overrides);
  opened.push(kv);
  return kv;
}

async function failure(promise: Promise<unknown>): Promise<KVError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKVError(err)) throw new Error(`expected a KVError, got ${String(err)}`);
  return err;
}

const savedUrl = process.env.KV_URL;
afterEach(async () => {
  if (savedUrl === undefined) delete process.env.KV_URL;
  else process.env.KV_URL = savedUrl;
  for (const kv of opened.splice(0)) await kv.close();
});

describe("createKV: choosing the backend", () => {
  it("builds memory:// when neither an argument nor KV_URL is given", async () => {
    delete process.env.KV_URL;
    expect(await open()).toBeInstanceOf(MemoryBackend);
    process.env.KV_URL = "";
    expect(await open()).toBeInstanceOf(MemoryBackend);
  });

  it("reads KV_URL when no URL is passed, and an argument wins over it", async () => {
    process.env.KV_URL = "lru://?max=5";
    expect(await open()).toBeInstanceOf(LruBackend);
    expect(await open("memory://")).toBeInstanceOf(MemoryBackend);
  });

  it("accepts a WHATWG URL object", async () => {
    expect(await open(new URL("memory://?maxValueBytes=10"))).toBeInstanceOf(MemoryBackend);
  });

  it("rejects an unknown scheme, listing the valid ones", async () => {
    const err = await failure(createKV("mongodb://u:hunter2@db:27017"));
    expect(err.code).toBe("KV_INVALID_ARGUMENT");
    expect(err.message).toBe(
      'createKV: unknown scheme, valid schemes: memory://, lru://, redis://, rediss://, redis-cluster://, rediss-cluster:// (got "mongodb://" in "mongodb://u:***@db:27017")',
    );
  });

  it("rejects bad overrides and a URL that is not a string", async () => {
    expect((await failure(createKV("memory://", null as never))).code).toBe("KV_INVALID_ARGUMENT");
    expect((await failure(createKV(42 as never))).message).toMatch(
      /^createKV: url must be a string/,
    );
  });
});

describe("memory://", () => {
  it("maps the query to MemoryBackend options", async () => {
    const kv = await open(
      "memory://?maxValueBytes=16&purgeIntervalSeconds=false&purgeBatchSize=10",
    );
    await kv.set("small", "0123456789");
    expect((await failure(kv.set("big", "0123456789abcdef"))).code).toBe("KV_VALUE_TOO_LARGE");
  });

  it("lets the backend reject out-of-range values, naming the option", async () => {
    const err = await failure(createKV("memory://?purgeIntervalSeconds=0"));
    expect(err.code).toBe("KV_INVALID_ARGUMENT");
    expect(err.message).toMatch(/purgeIntervalSeconds/);
  });

  it("rejects an unknown option, listing the valid ones", async () => {
    expect((await failure(createKV("memory://?max=5"))).message).toBe(
      'createKV: unknown option for memory://, valid options: maxValueBytes, purgeBatchSize, purgeIntervalSeconds, purgeOnWrite (got "max" in "memory://?max=5")',
    );
  });

  it("takes the purge options of both in-process backends", async () => {
    const memory = await open("memory://?purgeOnWrite=false&purgeIntervalSeconds=0.5");
    await memory.set("k", 1, { ttlSeconds: 60 });
    expect(await memory.get("k")).toBe(1);
    const lru = await open("lru://?max=10&purgeOnWrite=true&purgeIntervalSeconds=false");
    await lru.set("k", 1, { ttlSeconds: 60 });
    expect(await lru.get("k")).toBe(1);
    const err = await failure(createKV("lru://?purgeOnWrite=maybe"));
    expect(err.code).toBe("KV_INVALID_ARGUMENT");
    expect(err.message).toMatch(/purgeOnWrite/);
  });

  it("rejects a host or a path", async () => {
    expect((await failure(createKV("memory://somewhere"))).message).toMatch(
      /memory:\/\/ takes no host or path/,
    );
    expect((await failure(createKV("memory:///data"))).message).toMatch(
      /memory:\/\/ takes no host or path/,
    );
  });

  it("ignores overrides set to undefined", async () => {
    const kv = await open("memory://?maxValueBytes=4", { maxValueBytes: undefined });
    expect((await failure(kv.set("k", "12345"))).code).toBe("KV_VALUE_TOO_LARGE");
  });

  it("takes a clock (and other options) programmatically, over the URL's", async () => {
    const clock = new ManualClock(0);
    const kv = await open("memory://?maxValueBytes=1", {
      clock,
      maxValueBytes: 100,
      purgeIntervalSeconds: false,
    });
    await kv.set("k", "fits in 100 bytes", { ttlSeconds: 1 });
    clock.advance(999);
    expect(await kv.exists("k")).toBe(true);
    clock.advance(1);
    expect(await kv.exists("k")).toBe(false);
  });
});

describe("lru://", () => {
  it("maps max, maxBytes and maxValueBytes", async () => {
    const evicted: string[] = [];
    const kv = await open("lru://?max=2&maxValueBytes=64", {
      onEvict: (key: string) => evicted.push(key),
    });
    for (const key of ["a", "b", "c"]) await kv.set(key, 1);
    expect(evicted).toEqual(["a"]);
    expect((await failure(kv.set("big", "x".repeat(64)))).code).toBe("KV_VALUE_TOO_LARGE");
    const bytes = await open("lru://?maxBytes=20");
    expect((await failure(bytes.set("k", "x".repeat(30)))).code).toBe("KV_VALUE_TOO_LARGE");
  });

  it("uses @kv/lru's default capacity when no bound is given", async () => {
    const kv = await open("lru://");
    expect(kv).toBeInstanceOf(LruBackend);
    await kv.set("a", 1);
    expect(await kv.get("a")).toBe(1);
  });

  it("rejects a bad or unknown option", async () => {
    expect((await failure(createKV("lru://?max=ten"))).message).toBe(
      'createKV: option max must be a non-negative integer (got "ten" in "lru://?max=ten")',
    );
    expect((await failure(createKV("lru://?ttl=5"))).message).toMatch(
      /valid options: max, maxBytes, maxValueBytes/,
    );
    expect((await failure(createKV("lru://?max=0"))).message).toMatch(
      /max must be a positive integer/,
    );
  });
});

describe("registerBackend", () => {
  it("adds a scheme that createKV and KV_URL can select", async () => {
    const seen: unknown[] = [];
    const unregister = registerBackend("custom", (url, overrides) => {
      seen.push({ scheme: url.scheme, path: url.path, option: url.params.get("tag"), overrides });
      return new MemoryBackend({ purgeIntervalSeconds: false });
    });
    try {
      expect(knownSchemes()).toContain("custom");
      process.env.KV_URL = "custom:///data/kv?tag=x";
      expect(await open()).toBeInstanceOf(MemoryBackend);
      expect(seen).toEqual([{ scheme: "custom", path: "/data/kv", option: "x", overrides: {} }]);
    } finally {
      unregister();
    }
    expect(knownSchemes()).not.toContain("custom");
    expect((await failure(createKV("custom://"))).message).toMatch(
      /unknown scheme, valid schemes: .*rediss-cluster:\/\/ /,
    );
  });

  it("can replace a built-in scheme, and puts it back when undone", async () => {
    const unregister = registerBackend(
      "lru",
      () => new MemoryBackend({ purgeIntervalSeconds: false }),
    );
    expect(await open("lru://")).toBeInstanceOf(MemoryBackend);
    unregister();
    expect(await open("lru://")).toBeInstanceOf(LruBackend);
  });

  it("awaits an async factory and passes its errors through", async () => {
    const unregister = registerBackend("broken", async () => {
      throw new KVError("KV_UNAVAILABLE", "broken: down");
    });
    try {
      expect((await failure(createKV("broken://"))).code).toBe("KV_UNAVAILABLE");
    } finally {
      unregister();
    }
  });

  it("rejects a bad scheme or factory", () => {
    for (const scheme of ["", "Redis", "redis://", "1x", "a b"]) {
      expect(() => registerBackend(scheme, () => new MemoryBackend())).toThrow(
        /registerBackend: scheme must be/,
      );
    }
    expect(() => registerBackend("x", "nope" as never)).toThrow(
      /registerBackend: factory must be a function/,
    );
  });
});

describe("provideBackendPackage", () => {
  it("makes createKV use the module given instead of importing the package", async () => {
    const calls: unknown[] = [];
    const fake = {
      createLruBackend: (options: unknown) => {
        calls.push(options);
        return new MemoryBackend({ purgeIntervalSeconds: false });
      },
    };
    const undo = provideBackendPackage("@kv/lru", fake);
    try {
      expect(await open("lru://?max=3")).toBeInstanceOf(MemoryBackend);
      expect(calls).toEqual([{ max: 3 }]);
    } finally {
      undo();
    }
    expect(await open("lru://?max=3")).toBeInstanceOf(LruBackend);
  });

  it("rejects another package name or a module that is not an object", () => {
    expect(() => provideBackendPackage("ioredis" as never, {})).toThrow(
      /provideBackendPackage: name must be one of @kv\/lru, @kv\/redis/,
    );
    expect(() => provideBackendPackage("@kv/redis", null as never)).toThrow(
      /module must be the namespace/,
    );
  });
});
