import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // One standalone server and one cluster for the whole run (fault tests start their own).
      globalSetup: ["test/global-setup.ts"],
      // Files one at a time: real-time TTL margins and the measured fault timings must not
      // compete with each other for the two cores.
      fileParallelism: false,
    },
  }),
);
