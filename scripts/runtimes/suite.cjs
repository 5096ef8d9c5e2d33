// The conformance suite from the CommonJS builds: the same as suite.mjs, with require().
const { runConformanceSuite } = require("../../packages/core/dist/conformance/index.cjs");
const { createKV } = require("../../packages/context/dist/index.cjs");
const { LruBackend } = require("../../packages/lru/dist/index.cjs");
const { MemoryBackend } = require("../../packages/memory/dist/index.cjs");

const create = {
  memory: ({ clock, maxValueBytes }) =>
    new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
  lru: ({ clock, maxValueBytes }) => new LruBackend({ max: 100_000, clock, maxValueBytes }),
  context: ({ clock, maxValueBytes }) =>
    createKV("memory://?purgeIntervalSeconds=false", { clock, maxValueBytes }),
};

exports.runSuite = (test, runner) => {
  const name = process.env.KV_PACKAGE ?? "memory";
  if (!(name in create)) throw new Error(`KV_PACKAGE must be one of ${Object.keys(create)}`);
  runConformanceSuite({
    name: `@kv/${name} (${runner}, CJS)`,
    test,
    capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" },
    create: create[name],
  });
};
