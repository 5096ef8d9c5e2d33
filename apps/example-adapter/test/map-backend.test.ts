// The one-screen example of @kv/core's README keeps the whole contract: one call.
import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { MapBackend } from "../src/index.js";

runConformanceSuite({
  name: "MapBackend (the README's example)",
  test: { describe, it, beforeEach, afterEach },
  // It drops an expired entry when an operation touches its key.
  capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "notify" },
  create: ({ clock, maxValueBytes }) => new MapBackend({ clock, maxValueBytes }),
});
