import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One standalone server and one cluster for the whole run (fault tests start their own).
    globalSetup: ["test/global-setup.ts"],
    // Files one at a time: real-time TTL margins and the measured fault timings must not
    // compete with each other for the two cores.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
