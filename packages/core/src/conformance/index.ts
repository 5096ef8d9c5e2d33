import { describe } from "vitest";
import { defineBasicTests } from "./basics.js";
import { defineBatchTests } from "./batches.js";
import { defineCloseTests } from "./close.js";
import { defineConcurrencyTests } from "./concurrency.js";
import { defineCounterTests } from "./counters.js";
import { defineErrorTests } from "./errors.js";
import { defineKeyTests } from "./keys.js";
import { defineListTests } from "./lists.js";
import { defineModelTests } from "./model.js";
import { definePurgeTests } from "./purge.js";
import { defineScanTests } from "./scan.js";
import { defineTtlTests } from "./ttl.js";
import type { ConformanceOptions } from "./types.js";
import { defineValueTests } from "./values.js";

export type { BackendFactoryContext, ConformanceOptions } from "./types.js";

/**
 * Defines the conformance suite of the kv contract (SPEC.md) for one backend, as vitest
 * tests. Call it once, at the top level of a test file; `vitest run` then runs it.
 *
 * ```ts
 * import { runConformanceSuite } from "@kv/core/conformance";
 * import { MemoryBackend } from "@kv/memory";
 *
 * runConformanceSuite({
 *   name: "memory",
 *   clock: "manual",
 *   exactPurge: true,
 *   create: ({ clock, maxValueBytes }) =>
 *     new MemoryBackend({ clock, maxValueBytes, purgeIntervalSeconds: false }),
 * });
 * ```
 *
 * It goes through SPEC.md clause by clause: keys, values (JSON round trip, copies, what is
 * rejected, `maxValueBytes`), TTLs (validation, rounding, expiry at the deadline as seen by
 * every operation, which operations keep, set or clear a TTL), lists, batches, counters,
 * `scanPrefix`, `purgeExpired`, `close`, error shapes and concurrency, plus a model-based
 * test that runs random operation sequences against a reference model. Every call that
 * must fail is checked for its error code, for a message that starts with the method's
 * name, and for having left the store exactly as it was.
 *
 * How to write the factory:
 * - `create(ctx)` is called before every test (and again when a test needs a second,
 *   independent store, e.g. with `ctx.maxValueBytes` set) and must return an **empty**
 *   store. A remote backend can give each call its own key prefix or database.
 * - `clock: "manual"`: the backend must read time only from `ctx.clock` (milliseconds);
 *   the suite moves it and never sleeps, and checks expiry to the millisecond. Turn off
 *   any background timers that read another clock. `clock: "real"`: `ctx.clock` is
 *   undefined; TTL tests use 1 s TTLs and sleep past them with a margin (a few seconds
 *   of sleeping in all), and only check what a moving clock cannot blur.
 * - `ctx.maxValueBytes` is undefined (use the backend's default, which must be 1 MiB) or
 *   a number the backend must apply.
 * - `exactPurge: true` when `purgeExpired` removes and counts exactly
 *   `min(limit, expired)` entries; `false` for engines that expire keys themselves,
 *   where only bounds are checked.
 * - `connectPeer(ctx)`, for backends with a server: another client of the store the last
 *   `create` returned. The concurrency tests then alternate their calls between both.
 * - After each test, passed or failed, every backend the test got is disposed with
 *   `dispose(backend)`, or `backend.close()` by default (a `KV_CLOSED` from disposing a
 *   backend the test closed itself is ignored).
 *
 * Tests are registered with vitest's `describe`/`it` (vitest and, for the model test,
 * fast-check are optional peer dependencies of `@kv/core`, needed only here).
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  assertOptions(options);
  const manual = options.clock === "manual";
  // Real time: the longest tests sleep past a TTL and make a few thousand round trips
  // on what may be a loaded machine.
  describe(`kv conformance: ${options.name}`, { timeout: manual ? 15_000 : 60_000 }, () => {
    defineBasicTests(options);
    defineKeyTests(options);
    defineValueTests(options);
    defineTtlTests(options);
    defineListTests(options);
    defineBatchTests(options);
    defineCounterTests(options);
    defineScanTests(options);
    definePurgeTests(options);
    defineCloseTests(options);
    defineErrorTests(options);
    defineConcurrencyTests(options);
    defineModelTests(options);
  });
}

/** A mistake in the options is the adapter author's: say so before any test runs. */
function assertOptions(options: ConformanceOptions): void {
  const problem = (what: string) =>
    new TypeError(`runConformanceSuite: ${what} (see the ConformanceOptions type)`);
  if (typeof options !== "object" || options === null) throw problem("options must be an object");
  if (typeof options.name !== "string" || options.name === "") {
    throw problem("name must be a non-empty string");
  }
  if (typeof options.create !== "function") throw problem("create must be a function");
  if (options.clock !== "manual" && options.clock !== "real") {
    throw problem('clock must be "manual" or "real"');
  }
  if (typeof options.exactPurge !== "boolean") throw problem("exactPurge must be a boolean");
  if (options.connectPeer !== undefined && typeof options.connectPeer !== "function") {
    throw problem("connectPeer must be a function when given");
  }
  if (options.dispose !== undefined && typeof options.dispose !== "function") {
    throw problem("dispose must be a function when given");
  }
  if (
    options.modelRuns !== undefined &&
    (!Number.isSafeInteger(options.modelRuns) || options.modelRuns <= 0)
  ) {
    throw problem("modelRuns must be a positive integer when given");
  }
}
