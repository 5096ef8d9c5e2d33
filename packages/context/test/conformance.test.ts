// The whole conformance suite on backends built from URLs: what createKV wires is the
// very backend, options included. The manual clock, which no URL can carry, comes in
// through createKV's overrides.
import { runConformanceSuite } from "@kv/core/conformance";
import { createKV } from "../src/index.js";

runConformanceSuite({
  name: 'createKV("memory://…")',
  clock: "manual",
  exactPurge: true,
  // The background purge runs on a real timer; the suite counts purges itself.
  create: ({ clock, maxValueBytes }) =>
    createKV("memory://?purgeIntervalSeconds=false", { clock, maxValueBytes }),
});

runConformanceSuite({
  name: 'createKV("lru://…")',
  clock: "manual",
  exactPurge: true,
  // A capacity the suite never reaches: eviction is @kv/lru's own tests' business.
  create: ({ clock, maxValueBytes }) => createKV("lru://?max=100000", { clock, maxValueBytes }),
});
