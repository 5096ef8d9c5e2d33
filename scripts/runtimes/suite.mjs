// The conformance suite from the ESM builds, against the package named by KV_PACKAGE
// (memory, lru or context). Each runner's file passes its own test functions.

import { createKV } from "../../packages/context/dist/index.js";
import { runConformanceSuite } from "../../packages/core/dist/conformance/index.js";
import { LruBackend } from "../../packages/lru/dist/index.js";
import { MemoryBackend } from "../../packages/memory/dist/index.js";

const IN_PROCESS = { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" };
const REMOTE = { clock: "real", purge: "bounded", waitingPops: "notify", remote: true };

const create = {
  memory: ({ clock, maxValueBytes }) =>
    new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
  lru: ({ clock, maxValueBytes }) => new LruBackend({ max: 100_000, clock, maxValueBytes }),
  context: ({ clock, maxValueBytes }) =>
    createKV("memory://?purgeIntervalSeconds=false", { clock, maxValueBytes }),
};

/**
 * @kv/redis against the server at KV_REDIS_URL (test-runtimes.mjs starts one): each store
 * is a fresh key prefix, a peer a second client of the last one.
 */
async function redisSuite(test, runner) {
  const { RedisBackend } = await import("../../packages/redis/dist/index.js");
  const url = process.env.KV_REDIS_URL;
  if (!url) throw new Error("KV_PACKAGE=redis needs KV_REDIS_URL");
  let stores = 0;
  let prefix = "";
  runConformanceSuite({
    name: `@kv/redis (${runner}, ESM)`,
    test,
    capabilities: REMOTE,
    model: { runs: 5 },
    create: ({ maxValueBytes }) => {
      prefix = `rt:${process.pid}:${stores++}:`;
      return new RedisBackend({ url, prefix, maxValueBytes });
    },
    connectPeer: ({ maxValueBytes }) => new RedisBackend({ url, prefix, maxValueBytes }),
  });
}

export async function runSuite(test, runner) {
  const name = process.env.KV_PACKAGE ?? "memory";
  if (name === "redis") return redisSuite(test, runner);
  if (!(name in create)) throw new Error(`KV_PACKAGE must be one of redis, ${Object.keys(create)}`);
  runConformanceSuite({
    name: `@kv/${name} (${runner}, ESM)`,
    test,
    capabilities: IN_PROCESS,
    create: create[name],
  });
}
