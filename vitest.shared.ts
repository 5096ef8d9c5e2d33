import { defineConfig } from "vitest/config";

/**
 * The test settings of every package (`vitest run --config ../../vitest.shared.ts`, run in
 * the package's folder; a package with more to say merges this into its own config).
 *
 * Generous timeouts: CI and contributors run the whole workspace at once on two loaded
 * cores, and a test's time limit is there to catch a hang, not to measure speed (the
 * benchmarks do that).
 */
export default defineConfig({
  test: {
    root: process.cwd(),
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
