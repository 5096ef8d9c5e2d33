import { runConformanceSuite } from "@kv/core/conformance";
import { MemoryBackend } from "../src/index.js";

runConformanceSuite({
  name: "@kv/memory",
  clock: "manual",
  exactPurge: true,
  // The background purge runs on a real timer; the suite counts purges itself.
  create: ({ clock, maxValueBytes }) =>
    new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
});
