import { isKVError } from "@kv/core";
import { describe, expect, it } from "vitest";
import { escapeGlob, parseRedisUrl, RedisBackend, redactUrl } from "../src/index.js";

describe("parseRedisUrl", () => {
  it("reads a standalone URL with credentials and db (its query options are the backend's)", () => {
    expect(parseRedisUrl("redis://us%40er:p%3Ass@cache.local:6380/2?prefix=app%3A")).toEqual({
      tls: false,
      cluster: false,
      nodes: [{ host: "cache.local", port: 6380 }],
      username: "us@er",
      password: "p:ss",
      db: 2,
    });
  });

  it("defaults the host and port, and reads IPv6 hosts", () => {
    expect(parseRedisUrl("redis://").nodes).toEqual([{ host: "127.0.0.1", port: 6379 }]);
    expect(parseRedisUrl("rediss://[::1]:7000").nodes).toEqual([{ host: "::1", port: 7000 }]);
    expect(parseRedisUrl("rediss://h").tls).toBe(true);
    expect(parseRedisUrl("redis://:only-password@h").password).toBe("only-password");
    expect(parseRedisUrl("redis://:only-password@h").username).toBeUndefined();
  });

  it("reads a cluster's seed nodes", () => {
    const url = parseRedisUrl("rediss-cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002");
    expect(url.cluster).toBe(true);
    expect(url.tls).toBe(true);
    expect(url.nodes).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 6379 },
      { host: "::1", port: 7002 },
    ]);
  });

  it("refuses what it cannot use, never showing the password", () => {
    const bad = [
      "http://u:hunter2@h",
      "redis://u:hunter2@h1,h2",
      "redis://u:hunter2@h/x",
      "redis-cluster://u:hunter2@h:1/3",
      "redis://u:hunter2@h:99999",
      "redis://u:hunter2@h:%zz",
      // Unencoded "/", "?" or "#" in the password: the parser cannot split it, the
      // message must not show any piece of it either.
      "redis://:hun/ter2@cache:6379",
      "redis://user:hun?ter2@cache:6379",
      "redis://user:hun#ter2@cache:6379",
    ];
    for (const url of bad) {
      let caught: unknown;
      try {
        parseRedisUrl(url);
      } catch (err) {
        caught = err;
      }
      expect(isKVError(caught, "KV_INVALID_ARGUMENT"), url).toBe(true);
      expect((caught as Error).message).not.toMatch(/hunter2|hun|ter2/);
    }
  });
});

describe("redactUrl", () => {
  it("hides the password, keeps the rest", () => {
    expect(redactUrl("redis://user:secret@h:1/0")).toBe("redis://user:***@h:1/0");
    expect(redactUrl("rediss://:secret@h")).toBe("rediss://:***@h");
    expect(redactUrl("redis-cluster://u:s@a:1,b:2")).toBe("redis-cluster://u:***@a:1,b:2");
    expect(redactUrl("redis://h:1")).toBe("redis://h:1");
  });
});

describe("escapeGlob", () => {
  it("escapes every character Redis's glob treats specially", () => {
    expect(escapeGlob("a*b?c[d]e\\f^g-h")).toBe("a\\*b\\?c\\[d\\]e\\\\f^g-h");
  });
});

describe("RedisBackend options", () => {
  it("checks its options before connecting", () => {
    expect(() => new RedisBackend({ url: "redis://h", client: {} as never })).toThrow(
      /either url or client/,
    );
    expect(() => new RedisBackend({ url: "redis://h", commandTimeoutMs: 0 })).toThrow(
      /commandTimeoutMs must be a positive integer/,
    );
    expect(() => new RedisBackend({ url: "redis://h", maxValueBytes: -1 })).toThrow(
      /maxValueBytes/,
    );
    expect(() => new RedisBackend({ url: "redis://h", prefix: "\ud800" })).toThrow(/prefix/);
    expect(() => new RedisBackend({ client: {} as never })).toThrow(/client must be an ioredis/);
    expect(() => new RedisBackend({ redisOptions: { keyPrefix: "x:" } })).toThrow(/keyPrefix/);
  });
});
