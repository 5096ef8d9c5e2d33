import { runConformanceSuite } from "@kv/core/conformance";
import { LruBackend } from "../src/index.js";

// A capacity the suite never reaches: it checks the contract, not eviction.
runConformanceSuite({
  name: "lru",
  clock: "manual",
  exactPurge: true,
  create: ({ clock, maxValueBytes }) => new LruBackend({ max: 100_000, clock, maxValueBytes }),
});
