import { isKVError } from "@kv/core";
import type { PreparedAppend } from "@kv/core/adapter";
import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { type KeyRead, NearCache, readManyWithTtl, readWithTtl } from "../src/near-cache/index.js";
import { deployments, haveRedis, uniquePrefix } from "./helpers.js";

/**
 * The near cache wired into the backend the way src/near-cache/index.ts describes, from
 * the outside (an engine subclass), until the backend wires it itself: reads of get, mget,
 * exists and ttl through the cache, every write followed by `onWrite` before it settles.
 * (The backend proper sends the loads through its Link, for timeouts and KV_UNAVAILABLE.)
 */
/** Failures that leave the store as it was: the cache need not drop anything. */
const NO_EFFECT = new Set([
  "KV_INVALID_ARGUMENT",
  "KV_WRONG_TYPE",
  "KV_VALUE_TOO_LARGE",
  "KV_CLOSED",
]);

class NearCachedRedis extends RedisBackend {
  readonly near: NearCache;
  readonly #prefix: string;

  constructor(options: { url: string; prefix: string; maxValueBytes: number | undefined }) {
    super(options);
    this.#prefix = options.prefix;
    this.near = new NearCache({ max: 10_000 });
    this.near.attach(this.client);
  }

  #k(key: string): string {
    return this.#prefix + key;
  }
  #read(key: string): Promise<KeyRead> {
    const k = this.#k(key);
    return this.near.read(k, () => readWithTtl(this.client, k));
  }
  /** Drops `keys` once `write` settled, unless it failed without effect (SPEC "Concurrency"). */
  async #wrote<T>(keys: string | string[], write: Promise<T>): Promise<T> {
    try {
      const result = await write;
      this.near.onWrite(keys);
      return result;
    } catch (err) {
      if (!isKVError(err) || !NO_EFFECT.has(err.code)) this.near.onWrite(keys);
      throw err;
    }
  }

  protected override async _get(key: string): Promise<string | undefined> {
    return (await this.#read(key)).text ?? undefined;
  }
  protected override async _exists(key: string): Promise<boolean> {
    return (await this.#read(key)).text !== null;
  }
  protected override async _ttl(key: string): Promise<number | undefined> {
    const { pttl } = await this.#read(key);
    if (pttl === -2) return undefined;
    if (pttl === -1) return Number.POSITIVE_INFINITY;
    return pttl + 1;
  }
  protected override async _mget(keys: string[]): Promise<(string | undefined)[]> {
    const full = keys.map((key) => this.#k(key));
    const reads = await this.near.readMany(full, (missing) =>
      readManyWithTtl(this.client, missing),
    );
    return reads.map((r) => r.text ?? undefined);
  }

  protected override _set(key: string, json: string, ttlMs: number | undefined): Promise<void> {
    return this.#wrote(this.#k(key), super._set(key, json, ttlMs));
  }
  protected override _delete(key: string): Promise<boolean> {
    return this.#wrote(this.#k(key), super._delete(key));
  }
  protected override _listAppend(key: string, append: PreparedAppend): Promise<unknown[]> {
    return this.#wrote(this.#k(key), super._listAppend(key, append));
  }
  protected override _listPop(key: string): Promise<unknown[]> {
    return this.#wrote(this.#k(key), super._listPop(key));
  }
  protected override _mset(entries: Map<string, string>, ttlMs: number | undefined): Promise<void> {
    const keys = [...entries.keys()].map((key) => this.#k(key));
    return this.#wrote(keys, super._mset(entries, ttlMs));
  }
  protected override _expire(key: string, ttlMs: number): Promise<boolean> {
    return this.#wrote(this.#k(key), super._expire(key, ttlMs));
  }
  protected override _incr(
    key: string,
    amount: number,
    ttlMs: number | undefined,
  ): Promise<number> {
    return this.#wrote(this.#k(key), super._incr(key, amount, ttlMs));
  }
  protected override async _close(): Promise<void> {
    await this.near.close();
    await super._close();
  }
}

// The whole contract with the near cache on (capabilities.nearCache: reads of another
// client's writes may lag by the staleness bound), standalone and Cluster. The peer is a
// plain client: its writes reach the cached store through invalidations only.
describe.skipIf(!haveRedis).each(deployments)("@kv/redis + near cache ($name)", ({ name, url }) => {
  let lastPrefix = "";
  runConformanceSuite({
    name: `@kv/redis ${name} near cache`,
    test: {
      describe,
      it,
      beforeEach,
      afterEach,
      timeoutArgument: "third-argument",
    },
    capabilities: {
      clock: "real",
      purge: "bounded",
      waitingPops: "notify",
      remote: true,
      nearCache: true,
    },
    create: async ({ maxValueBytes }) => {
      lastPrefix = uniquePrefix("nearconf");
      const kv = new NearCachedRedis({ url: url(), prefix: lastPrefix, maxValueBytes });
      // Start with the cache serving (until then reads bypass it), so that it is exercised.
      // Through the backend's own path, which waits for the connection (the loads here do
      // not: the backend proper sends them through its Link). It connects a Cluster too.
      await kv.delete("warm-up");
      if (!(await kv.near.whenTracking(10_000))) throw new Error("near cache: no tracking");
      return kv;
    },
    connectPeer: ({ maxValueBytes }) =>
      new RedisBackend({ url: url(), prefix: lastPrefix, maxValueBytes }),
  });
});
