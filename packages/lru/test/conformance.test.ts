import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { LruBackend } from "../src/index.js";

// A capacity the suite never reaches: it checks the contract, not eviction.
runConformanceSuite({
  name: "lru",
  test: { describe, it, beforeEach, afterEach },
  // An expired entry stays for purgeExpired unless a write or a delete takes it first.
  capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" },
  checkPurgeScaling: true,
  create: ({ clock, maxValueBytes }) => new LruBackend({ max: 100_000, clock, maxValueBytes }),
});
