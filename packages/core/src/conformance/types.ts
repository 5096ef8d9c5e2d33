import type { ManualClock } from "../clock.js";
import type { KVBackend } from "../types.js";

/** What the suite hands the factory for each backend it needs. */
export interface BackendFactoryContext {
  /** With `clock: "manual"`, the clock the backend must read time from; else undefined. */
  clock: ManualClock | undefined;
  /** Set by the tests of the value-size limit; undefined means the backend's default (1 MiB). */
  maxValueBytes: number | undefined;
}

export interface ConformanceOptions {
  /** Shown in the suite's title. */
  name: string;
  /**
   * A fresh, empty store for one test. Called once per test, more often by tests that
   * need a second store with other options (their stores are independent).
   */
  create(ctx: BackendFactoryContext): KVBackend | Promise<KVBackend>;
  /**
   * Another client of the store the last `create()` returned (remote backends). When
   * given, the concurrency tests split their calls across both clients.
   */
  connectPeer?(ctx: BackendFactoryContext): KVBackend | Promise<KVBackend>;
  /**
   * `"manual"`: an in-process backend that reads time from `ctx.clock`; TTL tests move the
   * clock and never sleep. `"real"`: a remote backend on its server's clock; TTL tests use
   * short real TTLs with margins for a loaded machine.
   */
  clock: "manual" | "real";
  /**
   * `true`: `purgeExpired` removes and counts exactly min(limit, expired) entries.
   * `false`: the engine expires keys itself and `purgeExpired` may return 0.
   */
  exactPurge: boolean;
  /** Runs after each test with every backend the test created; default: `close()` each. */
  dispose?(backend: KVBackend): void | Promise<void>;
  /** Runs of the model-based test (fast-check `numRuns`); default 100 for manual, 20 for real. */
  modelRuns?: number;
}
