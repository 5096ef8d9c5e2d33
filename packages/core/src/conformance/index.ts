import { defineBasicTests } from "./basics.js";
import { defineBatchTests } from "./batches.js";
import { defineCloseTests } from "./close.js";
import { defineConcurrencyTests } from "./concurrency.js";
import { defineCounterTests } from "./counters.js";
import { defineErrorTests } from "./errors.js";
import { defineKeyTests } from "./keys.js";
import { defineListTests } from "./lists.js";
import { defineModelTests } from "./model.js";
import { assertOptions, resolveCapabilities } from "./options.js";
import { definePurgeTests } from "./purge.js";
import { definePurgeScalingTest } from "./purge-scaling.js";
import { defineScanTests } from "./scan.js";
import type { Suite } from "./suite.js";
import { createRegistrar } from "./test-api.js";
import { defineTtlTests } from "./ttl.js";
import type { ConformanceOptions } from "./types.js";
import { defineValueTests } from "./values.js";
import { defineWaitingPopTests } from "./waiting-pops.js";

export { ConformanceAssertionError } from "./assert.js";
export type {
  BackendFactoryContext,
  Capabilities,
  ConformanceOptions,
  ModelOptions,
  ModelProperty,
  TestApi,
} from "./types.js";

/**
 * Defines the conformance suite of the kv contract (SPEC.md, shipped in this package) for
 * one backend, with the test functions of the caller's runner. Call it once, at the top
 * level of a test file.
 *
 * ```ts
 * import { runConformanceSuite } from "@kv/core/conformance";
 * import { describe, it, beforeEach, afterEach } from "vitest"; // or "node:test", "bun:test"
 * import { MemoryBackend } from "@kv/memory";
 *
 * runConformanceSuite({
 *   name: "memory",
 *   test: { describe, it, beforeEach, afterEach },
 *   capabilities: { clock: "manual", purge: "exact", waitingPops: "notify" },
 *   create: ({ clock, maxValueBytes }) =>
 *     new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
 * });
 * ```
 *
 * It goes through SPEC.md clause by clause: keys, values, TTLs, lists and waiting pops,
 * batches, counters, `scanPrefix`, `purgeExpired`, `close`, error shapes and concurrency
 * (with an exactly-once checker), plus model-based tests against a reference model.
 * Every failure names the SPEC section it checks. The capability manifest
 * (`capabilities`) chooses the tests; each group left out is printed once, with why.
 *
 * How to write the factory:
 * - `create(ctx)` is called before every test (and again when a test needs a second,
 *   independent store, e.g. with `ctx.maxValueBytes` set) and must return an **empty**
 *   store. A remote backend can give each call its own key prefix or database.
 * - `clock: "manual"`: the backend must read time only from `ctx.clock` (milliseconds);
 *   the suite moves it and never sleeps for a TTL. Turn off background timers that read
 *   another clock. A waiting pop's `waitSeconds` is real time (setTimeout) in every
 *   backend: those tests wait 0.05 to 0.3 s.
 * - `ctx.maxValueBytes` is undefined (use the backend's default, which must be 1 MiB) or
 *   a number the backend must apply.
 * - `connectPeer(ctx)`, for backends with a server: another client of the store the last
 *   `create` returned.
 * - After each test every backend it got is disposed with `dispose(backend)`, or
 *   `backend.close()` by default (a `KV_CLOSED` from a backend the test closed is ignored).
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  assertOptions(options);
  const caps = resolveCapabilities(options.capabilities);
  const manual = caps.clock === "manual";
  const title = `kv conformance: ${options.name}`;
  // Real time: the longest tests sleep past a TTL and make a few thousand round trips on
  // what may be a loaded machine.
  const t = createRegistrar(options.test, manual ? 15_000 : 60_000);
  const suite: Suite = {
    options,
    caps,
    manual,
    t,
    leaveOut(what, reason) {
      console.info(`[${title}] left out: ${what}: ${reason}`);
    },
  };
  t.describe(title, "The interface", () => {
    defineBasicTests(suite);
    defineKeyTests(suite);
    defineValueTests(suite);
    defineTtlTests(suite);
    defineListTests(suite);
    defineWaitingPopTests(suite);
    defineBatchTests(suite);
    defineCounterTests(suite);
    defineScanTests(suite);
    definePurgeTests(suite);
    definePurgeScalingTest(suite);
    defineCloseTests(suite);
    defineErrorTests(suite);
    defineConcurrencyTests(suite);
    defineModelTests(suite);
  });
}
