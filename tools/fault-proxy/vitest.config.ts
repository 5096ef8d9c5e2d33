import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each test starts its own redis-server (or cluster) and proxies: files one at a time
    // keep a loaded two-core machine from starving the timers the fault tests wait on.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
