import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { MemoryBackend } from "../src/index.js";

runConformanceSuite({
  name: "@kv/memory",
  test: { describe, it, beforeEach, afterEach },
  // An expired entry stays for purgeExpired unless a write or a delete takes it first.
  capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" },
  checkPurgeScaling: true,
  // The background purge runs on a real timer; the suite counts purges itself.
  create: ({ clock, maxValueBytes }) =>
    new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
});
