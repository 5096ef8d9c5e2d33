import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Each test starts its own redis-server (or cluster) and proxies: files one at a time
      // keep a loaded two-core machine from starving the timers the fault tests wait on.
      fileParallelism: false,
    },
  }),
);
