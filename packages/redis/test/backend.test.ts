import { setTimeout as sleep } from "node:timers/promises";
import { isKVError, type JsonValue, type KVErrorCode } from "@kv/core";
import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_TTL_MS, RedisBackend } from "../src/index.js";
import { deployments, haveRedis, rawClient, uniquePrefix } from "./helpers.js";

async function rejectsWith(promise: Promise<unknown>, code: KVErrorCode): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKVError(err, code)) {
    throw new Error(`expected ${code}, got ${err instanceof Error ? err.message : String(err)}`);
  }
  return err;
}

describe.skipIf(!haveRedis).each(deployments)("RedisBackend on $name", ({ url }) => {
  let raw: Redis | Cluster;
  let prefix: string;
  let kv: RedisBackend;
  /** A fresh namespace per test: `kv` writes under `prefix`, `raw` sees the real keys. */
  const fresh = (options: { maxValueBytes?: number } = {}) => {
    prefix = uniquePrefix();
    kv = new RedisBackend({ url: url(), prefix, ...options });
    return kv;
  };

  beforeAll(() => {
    raw = rawClient(url());
  });
  afterAll(async () => {
    raw.disconnect();
  });

  describe("storage", () => {
    it("keeps each key as one Redis string of JSON, readable with redis-cli", async () => {
      fresh();
      await kv.set("user:1", { name: "Ada", tags: [], n: 1.5 });
      await kv.listAppendUnique("inbox", [{ id: 1, text: "hi" }]);
      await kv.incr("hits");
      expect(await raw.type(`${prefix}user:1`)).toBe("string");
      expect(await raw.get(`${prefix}user:1`)).toBe('{"name":"Ada","tags":[],"n":1.5}');
      expect(await raw.get(`${prefix}inbox`)).toBe('[{"id":1,"text":"hi"}]');
      expect(await raw.get(`${prefix}hits`)).toBe("1");
      await kv.close();
    });

    it("works on values written by another client (a list set with SET is appendable)", async () => {
      fresh();
      await raw.set(`${prefix}l`, '[{"id":"a"}]');
      expect(await kv.listAppendUnique("l", [{ id: "a" }, { id: "b" }])).toEqual([
        { id: "a" },
        { id: "b" },
      ]);
      await kv.close();
    });

    it("reports a key of another Redis type as KV_WRONG_TYPE and leaves it alone", async () => {
      fresh();
      await raw.hset(`${prefix}h`, "f", "v");
      await rejectsWith(kv.get("h"), "KV_WRONG_TYPE");
      await rejectsWith(kv.listAppendUnique("h", [{ id: 1 }]), "KV_WRONG_TYPE");
      await rejectsWith(kv.incr("h"), "KV_WRONG_TYPE");
      await rejectsWith(kv.listPopAll("h"), "KV_WRONG_TYPE");
      expect(await raw.hget(`${prefix}h`, "f")).toBe("v");
      await kv.close();
    });

    it("reports a string that is not JSON as KV_WRONG_TYPE", async () => {
      fresh();
      await raw.set(`${prefix}s`, "not json");
      await rejectsWith(kv.get("s"), "KV_WRONG_TYPE");
      await rejectsWith(kv.incr("s"), "KV_WRONG_TYPE");
      expect(await raw.get(`${prefix}s`)).toBe("not json");
      await kv.close();
    });
  });

  describe("listAppendUnique", () => {
    it("never re-encodes stored elements: the stored text is kept byte for byte", async () => {
      fresh();
      // cjson would turn [] into {}, print 12345678901234567890 as 1.2345678901235e+19,
      // and write "/" as "\/": none of that may reach the stored text.
      const stored =
        '[{"id":1,"tags":[],"meta":{},"big":12345678901234567890,"url":"a/b","f":0.1},"loose",null,[1,2]]';
      await raw.set(`${prefix}l`, stored);
      await kv.listAppendUnique("l", [{ id: 2 }]);
      expect(await raw.get(`${prefix}l`)).toBe(`${stored.slice(0, -1)},{"id":2}]`);
      await kv.close();
    });

    it("compares ids by type and value, numbers as doubles however they are spelled", async () => {
      fresh();
      await raw.set(
        `${prefix}l`,
        '[{"id":12345678901234567890},{"id":1.0},{"id":"1"},{"id":1e2},{"id":0.30000000000000004}]',
      );
      const list = await kv.listAppendUnique("l", [
        { id: 12345678901234567000 }, // the same double as 12345678901234567890
        { id: 1 }, // 1.0
        { id: 100 }, // 1e2
        { id: 0.1 + 0.2 },
        { id: 1, dup: true },
        { id: "100" }, // a string: new
        { id: 2 ** 53 + 2 }, // new
      ]);
      expect(list.slice(5)).toEqual([{ id: "100" }, { id: 2 ** 53 + 2 }]);
      await kv.close();
    });

    it("ignores elements without a valid id, and ids under another idKey", async () => {
      fresh();
      await raw.set(
        `${prefix}l`,
        '[{"key":"a"},{"id":null},{"id":[1]},{"id":{"x":1}},5,"a",{"key":"b","id":"x"}]',
      );
      const list = await kv.listAppendUnique("l", [{ key: "a" }, { key: "c" }, { key: "x" }], {
        idKey: "key",
      });
      expect(list.slice(7)).toEqual([{ key: "c" }, { key: "x" }]);
      await kv.close();
    });

    it("finds a stored id however another client spelled it (the append's no-decode path must not)", async () => {
      fresh();
      // Written by another client: escapes JSON.stringify would not write, spaces, and the
      // new ids as values of other fields.
      await raw.set(
        `${prefix}l`,
        ' [ {"id": "\\u00e9"}, {"id":"a\\/b"}, {"other":"new"}, {"id" : "spaced"} ] ',
      );
      const list = await kv.listAppendUnique("l", [
        { id: "é" },
        { id: "a/b" },
        { id: "spaced" },
        { id: "new" },
      ]);
      expect(list).toEqual([
        { id: "é" },
        { id: "a/b" },
        { other: "new" },
        { id: "spaced" },
        { id: "new" },
      ]);
      // Text that is not JSON is refused and kept, as the decoding path always did.
      for (const text of ['[{"id":"a"}, oops', "[abc]", "[1,2"]) {
        await raw.set(`${prefix}g`, text);
        await rejectsWith(kv.listAppendUnique("g", [{ id: "b" }]), "KV_WRONG_TYPE");
        expect(await raw.get(`${prefix}g`)).toBe(text);
      }
      // With no escape in the stored text, an id found as a value elsewhere still decodes it.
      await raw.set(`${prefix}m`, '[{"note":"x"},{"id":"x"}]');
      expect(await kv.listAppendUnique("m", [{ id: "x" }, { id: "y" }])).toEqual([
        { note: "x" },
        { id: "x" },
        { id: "y" },
      ]);
      await kv.close();
    });

    it("handles lone surrogates in stored values and in ids (cjson refuses them as escapes)", async () => {
      fresh();
      await kv.listAppendUnique("l", [
        { id: 1, note: "lone \ud800 here" },
        { id: "\udc00x" },
        { id: "😀" },
      ]);
      const list = await kv.listAppendUnique("l", [
        { id: "\udc00x" },
        { id: "😀" },
        { id: "\ud800" },
        { id: 2 },
      ]);
      expect(list).toEqual([
        { id: 1, note: "lone \ud800 here" },
        { id: "\udc00x" },
        { id: "😀" },
        { id: "\ud800" },
        { id: 2 },
      ]);
      await kv.close();
    });

    it("refuses a non-array without changing it, {} included (cjson decodes {} and [] alike)", async () => {
      fresh();
      const values: JsonValue[] = [{}, { id: 1 }, 5, "[x]", null, true];
      for (const value of values) {
        await kv.set("v", value);
        await rejectsWith(kv.listAppendUnique("v", [{ id: 1 }]), "KV_WRONG_TYPE");
        await rejectsWith(kv.listPopAll("v"), "KV_WRONG_TYPE");
        expect(await kv.get("v")).toEqual(value);
      }
      await kv.set("empty", []);
      expect(await kv.listAppendUnique("empty", [{ id: 1 }])).toEqual([{ id: 1 }]);
      await kv.close();
    });

    it("checks maxValueBytes on the resulting list, writing nothing when over", async () => {
      fresh({ maxValueBytes: 40 });
      await kv.listAppendUnique("l", [{ id: 1, t: "0123456789" }]);
      await rejectsWith(
        kv.listAppendUnique("l", [{ id: 2, t: "0123456789" }]),
        "KV_VALUE_TOO_LARGE",
      );
      expect(await kv.get("l")).toEqual([{ id: 1, t: "0123456789" }]);
      // A duplicate adds nothing, so it is not over the limit.
      expect(await kv.listAppendUnique("l", [{ id: 1, t: "0123456789".repeat(9) }])).toHaveLength(
        1,
      );
      await kv.close();
    });

    it("keeps the TTL without ttlSeconds and sets it with", async () => {
      fresh();
      await kv.listAppendUnique("l", [{ id: 1 }], { ttlSeconds: 100 });
      await kv.listAppendUnique("l", [{ id: 2 }]);
      expect(await kv.ttl("l")).toBeGreaterThan(90);
      await kv.listAppendUnique("l", [{ id: 2 }], { ttlSeconds: 1000 });
      expect(await kv.ttl("l")).toBeGreaterThan(900);
      await kv.set("p", []);
      await kv.listAppendUnique("p", [{ id: 1 }]);
      expect(await kv.ttl("p")).toBe(Number.POSITIVE_INFINITY);
      await kv.close();
    });

    it("stores nothing for an empty call on a missing key", async () => {
      fresh();
      expect(await kv.listAppendUnique("l", [], { ttlSeconds: 5 })).toEqual([]);
      expect(await kv.exists("l")).toBe(false);
      await kv.close();
    });
  });

  describe("incr", () => {
    it("reads JSON numbers, keeps the safe-integer rules, and leaves a refused value alone", async () => {
      fresh();
      await raw.set(`${prefix}spelled`, "5.0");
      expect(await kv.incr("spelled")).toBe(6);
      await kv.set("max", Number.MAX_SAFE_INTEGER - 1);
      expect(await kv.incr("max")).toBe(Number.MAX_SAFE_INTEGER);
      await rejectsWith(kv.incr("max"), "KV_INVALID_ARGUMENT");
      expect(await kv.get("max")).toBe(Number.MAX_SAFE_INTEGER);
      expect(await kv.incr("min", -Number.MAX_SAFE_INTEGER)).toBe(-Number.MAX_SAFE_INTEGER);
      await rejectsWith(kv.incr("min", -1), "KV_INVALID_ARGUMENT");
      const values: JsonValue[] = [1.5, "5", 2 ** 53, [1], null];
      for (const value of values) {
        await kv.set("w", value);
        await rejectsWith(kv.incr("w"), "KV_WRONG_TYPE");
        expect(await kv.get("w")).toEqual(value);
      }
      await kv.close();
    });

    it("keeps the TTL without ttlSeconds and sets it with", async () => {
      fresh();
      await kv.set("n", 1, { ttlSeconds: 100 });
      await kv.incr("n");
      expect(await kv.ttl("n")).toBeGreaterThan(90);
      await kv.incr("n", 1, { ttlSeconds: 1000 });
      expect(await kv.ttl("n")).toBeGreaterThan(900);
      expect(await kv.get("n")).toBe(3);
      await kv.close();
    });
  });

  describe("TTL", () => {
    it("sends whole milliseconds and reports seconds at millisecond precision", async () => {
      fresh();
      await kv.set("a", 1, { ttlSeconds: 0.0001 }); // ceil to 1 ms: PX 1, never PX 0
      await kv.set("b", 1, { ttlSeconds: 12.3456 });
      const left = await kv.ttl("b");
      expect(left).toBeGreaterThan(12);
      expect(left).toBeLessThanOrEqual(12.346);
      expect(Math.round(left! * 1000)).toBe(left! * 1000);
      await kv.close();
    });

    it("accepts very large TTLs (clamped to MAX_TTL_MS)", async () => {
      fresh();
      await kv.set("year", 1, { ttlSeconds: 1e12 });
      expect(await kv.ttl("year")).toBeGreaterThan(1e12 - 100);
      await kv.set("huge", 1, { ttlSeconds: 1e300 });
      expect(await kv.ttl("huge")).toBeGreaterThan(MAX_TTL_MS / 1000 - 100);
      expect(await kv.expire("huge", Number.MAX_VALUE)).toBe(true);
      await kv.mset({ m: 1 }, { ttlSeconds: 1e300 });
      expect(await kv.incr("i", 1, { ttlSeconds: 1e300 })).toBe(1);
      expect(await kv.listAppendUnique("l", [{ id: 1 }], { ttlSeconds: 1e300 })).toHaveLength(1);
      await kv.close();
    });

    it("set without ttlSeconds clears an earlier TTL; expire is false for a missing key", async () => {
      fresh();
      await kv.set("a", 1, { ttlSeconds: 100 });
      await kv.set("a", 2);
      expect(await kv.ttl("a")).toBe(Number.POSITIVE_INFINITY);
      expect(await kv.ttl("missing")).toBeUndefined();
      expect(await kv.expire("missing", 10)).toBe(false);
      await kv.close();
    });
  });

  describe("scanPrefix", () => {
    it("treats glob characters literally and sorts by code units, not UTF-8 bytes", async () => {
      fresh();
      const keys = ["a*", "a?b", "a[b]c", "a\\b", "ab", "a😀", "a\uffff", "b*", "*"];
      await kv.mset(keys.map((k) => [k, 1] as const));
      expect(await kv.scanPrefix("a")).toEqual([
        "a*",
        "a?b",
        "a[b]c",
        "a\\b",
        "ab",
        "a😀",
        "a\uffff",
      ]);
      expect(await kv.scanPrefix("a*")).toEqual(["a*"]);
      expect(await kv.scanPrefix("a[b]")).toEqual(["a[b]c"]);
      expect(await kv.scanPrefix("a\\")).toEqual(["a\\b"]);
      expect(await kv.scanPrefix("*")).toEqual(["*"]);
      expect(await kv.scanPrefix("a", { after: "a\\b", limit: 2 })).toEqual(["ab", "a😀"]);
      await kv.close();
    });

    it("sees only its own prefix and pages through many keys", async () => {
      fresh();
      const other = new RedisBackend({ url: url(), prefix: `${prefix}x` });
      await other.set("hidden", 1);
      const all = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(4, "0")}`);
      await kv.mset(all.map((k) => [k, i(k)] as const));
      const seen: string[] = [];
      for (let after: string | undefined; ; ) {
        const page = await kv.scanPrefix("k", {
          limit: 1000,
          ...(after === undefined ? {} : { after }),
        });
        seen.push(...page);
        if (page.length < 1000) break;
        after = page.at(-1);
      }
      expect(seen).toEqual(all);
      expect(await kv.scanPrefix("", { limit: 1 })).toEqual(["k0000"]);
      expect(await other.scanPrefix("")).toEqual(["hidden"]);
      await Promise.all([kv.close(), other.close()]);
    });
  });

  describe("the rest", () => {
    it("mget keeps order and repeats; mset with a TTL; purgeExpired returns 0", async () => {
      fresh();
      await kv.mset(
        [
          ["a", 1],
          ["b", { x: [] }],
          ["a", 3],
        ],
        { ttlSeconds: 50 },
      );
      expect(await kv.mget(["b", "a", "zz", "a"])).toEqual([{ x: [] }, 3, undefined, 3]);
      expect(await kv.ttl("b")).toBeGreaterThan(40);
      expect(await kv.purgeExpired()).toBe(0);
      await rejectsWith(kv.purgeExpired(0), "KV_INVALID_ARGUMENT");
      await kv.close();
    });

    it("close is idempotent and every call after it rejects with KV_CLOSED", async () => {
      fresh();
      await kv.close();
      await kv.close();
      await rejectsWith(kv.get("a"), "KV_CLOSED");
      await rejectsWith(kv.get(""), "KV_CLOSED");
      await rejectsWith(kv.scanPrefix(""), "KV_CLOSED");
      await rejectsWith(kv.mset({ a: 1 }), "KV_CLOSED");
    });

    it("takes options from the URL's query and refuses unknown ones", async () => {
      const p = uniquePrefix();
      const viaUrl = new RedisBackend(
        `${url()}?prefix=${encodeURIComponent(p)}&commandTimeoutMs=2000`,
      );
      await viaUrl.set("k", 1);
      expect(await raw.get(`${p}k`)).toBe("1");
      await viaUrl.close();
      expect(() => new RedisBackend(`${url()}?prefx=a`)).toThrow(
        /^RedisBackend: unknown option for redis(-cluster)?:\/\/, valid options: prefix, maxValueBytes, commandTimeoutMs, connectTimeoutMs, autoPipelining, nearCache \(got "prefx" in "/,
      );
      expect(() => new RedisBackend(`${url()}?commandTimeoutMs=1e3`)).toThrow(
        /^RedisBackend: option commandTimeoutMs must be a non-negative integer \(got "1e3" in "/,
      );
      expect(() => new RedisBackend(`${url()}?commandTimeoutMs=0`)).toThrow(
        /commandTimeoutMs must be a positive integer/,
      );
    });

    it("writes a lone call's command at once: with nothing in flight there is nothing to group", async () => {
      const kv = new RedisBackend(url());
      await kv.exists("connected");
      if (!kv.client.isCluster) {
        for (const call of [() => kv.get("lone"), () => kv.set("lone", 1)]) {
          // The backend's start-up work (the sweep's SCAN pages, the server checks) may
          // still be running, and the previous call's acknowledgement in flight.
          await startUpDone(kv);
          await inFlightDrained(kv);
          const writes = countWrites(kv);
          try {
            const pending = call();
            // Written before the call returned, not at the end of the tick.
            expect(writes.count).toBe(1);
            await pending;
            // A second call made while the first is in flight is grouped: it waits for the
            // end of the tick.
            const first = kv.get("lone");
            const second = kv.get("lone");
            expect(writes.count).toBe(2);
            await Promise.all([first, second]);
            expect(writes.count).toBe(3);
          } finally {
            writes.stop();
          }
        }
      }
      await kv.close();
    });

    it("pipelines by default (grouped writes on one server, ioredis's auto-pipeline for a Cluster's reads); autoPipelining: false turns it off", async () => {
      const on = new RedisBackend(url());
      const off = new RedisBackend(`${url()}?autoPipelining=false`);
      const viaRedisOptions = new RedisBackend({
        url: url(),
        redisOptions: { enableAutoPipelining: false },
        clusterOptions: { enableAutoPipelining: false },
      });
      const optionWins = new RedisBackend({
        url: url(),
        autoPipelining: true,
        redisOptions: { enableAutoPipelining: false },
        clusterOptions: { enableAutoPipelining: false },
      });
      const settings = (b: RedisBackend) => b.client.options;
      if (on.client.isCluster) {
        expect(settings(on).enableAutoPipelining).toBe(true);
        expect(settings(on).autoPipeliningIgnoredCommands).toEqual(["evalsha", "eval"]);
        expect(settings(off).enableAutoPipelining).toBe(false);
        expect(settings(viaRedisOptions).enableAutoPipelining).toBe(false);
        expect(settings(optionWins).enableAutoPipelining).toBe(true);
      } else {
        // One server: the backend groups the commands itself, ioredis's auto-pipeline off.
        for (const kv of [on, off, viaRedisOptions, optionWins]) {
          expect(settings(kv).enableAutoPipelining).toBe(false);
        }
        // 64 commands: the first alone (nothing was in flight), then 16 a write (not one
        // write for all, as an auto-pipeline's batch).
        const grouped = await socketWrites(on, 64);
        expect(grouped).toBeGreaterThanOrEqual(2);
        expect(grouped).toBeLessThanOrEqual(5);
        expect(await socketWrites(optionWins, 64)).toBeLessThanOrEqual(5);
        expect(await socketWrites(off, 64)).toBeGreaterThan(5);
        expect(await socketWrites(viaRedisOptions, 64)).toBeGreaterThan(5);
      }
      // Concurrent calls of every kind, pipelined or not, each answer their own.
      const p = uniquePrefix();
      for (const kv of [on, off]) {
        const keys = Array.from({ length: 50 }, (_, n) => `${p}${n}`);
        await Promise.all(keys.map((k, n) => kv.set(k, n)));
        expect(await Promise.all(keys.map((k) => kv.get(k)))).toEqual(keys.map((_, n) => n));
        expect(await Promise.all(keys.map((k) => kv.incr(k)))).toEqual(keys.map((_, n) => n + 1));
        expect(await kv.mget(keys)).toEqual(keys.map((_, n) => n + 1));
      }
      expect(() => new RedisBackend({ url: url(), autoPipelining: "yes" as never })).toThrow(
        /autoPipelining must be a boolean/,
      );
      await Promise.all([on, off, viaRedisOptions, optionWins].map((b) => b.close()));
    });
  });
});

/**
 * How many socket writes `n` concurrent `get`s of one server's backend take (the calls to
 * the socket's `_write`/`_writev`, each one system call).
 */
async function socketWrites(kv: RedisBackend, n: number): Promise<number> {
  await kv.exists("connected");
  await startUpDone(kv);
  const writes = countWrites(kv);
  try {
    await Promise.all(Array.from({ length: n }, (_, k) => kv.get(`w${k}`)));
  } finally {
    writes.stop();
  }
  return writes.count;
}

/**
 * Resolves once the backend's start-up work (the recovery sweep's SCAN pages, the server
 * checks) is over: nothing in flight for 50 ms in a row (5 s at most).
 */
async function startUpDone(kv: RedisBackend): Promise<void> {
  const queue = (kv.client as unknown as { commandQueue: { length: number } }).commandQueue;
  for (let idle = 0, waited = 0; idle < 50 && waited < 5000; waited += 5) {
    idle = queue.length === 0 ? idle + 5 : 0;
    await sleep(5);
  }
}

/** Resolves once no command of the backend's connection awaits a reply (2 s at most). */
async function inFlightDrained(kv: RedisBackend): Promise<void> {
  const queue = (kv.client as unknown as { commandQueue: { length: number } }).commandQueue;
  for (let waited = 0; queue.length > 0 && waited < 2000; waited += 5) await sleep(5);
  expect(queue.length, "commands still in flight").toBe(0);
}

/** Counts the socket writes of a standalone backend from now until `stop()`. */
function countWrites(kv: RedisBackend): { readonly count: number; stop(): void } {
  const stream = (kv.client as Redis).stream as unknown as Record<string, unknown>;
  let count = 0;
  const originals: [string, unknown][] = [];
  for (const name of ["_write", "_writev"]) {
    const original = stream[name] as ((...args: unknown[]) => unknown) | undefined;
    if (original === undefined) continue;
    originals.push([name, original]);
    stream[name] = function (this: unknown, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    };
  }
  return {
    get count() {
      return count;
    },
    stop() {
      for (const [name, original] of originals) stream[name] = original;
    },
  };
}

function i(key: string): number {
  return Number(key.slice(1));
}
