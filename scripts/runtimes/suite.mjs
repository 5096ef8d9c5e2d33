// The conformance suite from the ESM builds, against the package named by KV_PACKAGE
// (memory, lru or context). Each runner's file passes its own test functions.

import { createKV } from "../../packages/context/dist/index.js";
import { runConformanceSuite } from "../../packages/core/dist/conformance/index.js";
import { LruBackend } from "../../packages/lru/dist/index.js";
import { MemoryBackend } from "../../packages/memory/dist/index.js";

const create = {
  memory: ({ clock, maxValueBytes }) =>
    new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
  lru: ({ clock, maxValueBytes }) => new LruBackend({ max: 100_000, clock, maxValueBytes }),
  context: ({ clock, maxValueBytes }) =>
    createKV("memory://?purgeIntervalSeconds=false", { clock, maxValueBytes }),
};

export function runSuite(test, runner) {
  const name = process.env.KV_PACKAGE ?? "memory";
  if (!(name in create)) throw new Error(`KV_PACKAGE must be one of ${Object.keys(create)}`);
  runConformanceSuite({
    name: `@kv/${name} (${runner}, ESM)`,
    test,
    capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" },
    create: create[name],
  });
}
