import type { ManualClock } from "../clock.js";
import type { KVBackend } from "../types.js";
import type { TestApi } from "./test-api.js";

export type { TestApi } from "./test-api.js";

/** What the suite hands the factory for each backend it needs. */
export interface BackendFactoryContext {
  /** With `capabilities.clock: "manual"`, the clock the backend must read time from; else undefined. */
  clock: ManualClock | undefined;
  /** Set by the tests of the value-size limit; undefined means the backend's default (1 MiB). */
  maxValueBytes: number | undefined;
}

/**
 * What the backend declares about itself. The suite chooses its tests from it and prints
 * one line for every group it leaves out, with the reason.
 */
export interface Capabilities {
  /**
   * `"manual"`: an in-process backend that reads time only from `ctx.clock`; TTL tests move
   * that clock, never sleep, and check expiry to the millisecond. `"real"`: the backend
   * keeps time itself (a server's clock); TTL tests use 1 s TTLs, sleep past them with a
   * margin, and check only what a moving clock cannot blur.
   */
  clock: "manual" | "real";
  /**
   * `"exact"`: `purgeExpired(limit)` removes and counts exactly min(limit, expired)
   * entries (SPEC "The rest", in-process backends). `"bounded"`: the engine expires keys
   * itself (Redis) and the count is only checked to be within 0..limit.
   */
  purge: "exact" | "bounded";
  /**
   * `true`: the backend may drop an expired entry when an operation touches its key, which
   * then no longer counts for `purgeExpired` (SPEC "The rest"). `false`: an expired entry
   * stays until `purgeExpired` removes it, and the suite checks that a touched one is still
   * counted. Only matters with `purge: "exact"`. Default `true` (the permissive choice).
   */
  lazyExpiry?: boolean;
  /**
   * How `listPopAll(key, { waitSeconds })` waits (SPEC "Lists"). `"notify"`: woken by the
   * write that fills the list (in-process: before that write's promise settles, and the
   * longest-waiting waiter first). `"poll"`: waits by polling (core's fallback for engines
   * without notifications); wake-up order is not checked. `"none"`: not implemented yet;
   * the waiting-pop tests are left out (SPEC v2 requires waiting pops: a stopgap only).
   */
  waitingPops: "notify" | "poll" | "none";
  /**
   * A backend that talks to a server other processes share. Wake-up order of waiting pops
   * is then best effort and not checked. Default `false`.
   */
  remote?: boolean;
  /**
   * The near cache (SPEC "Near cache") is on: a client's reads may be up to the staleness
   * bound old for writes made by another client, so the checks that read another client's
   * finished writes at once are left out. Default `false`.
   */
  nearCache?: boolean;
}

/** Which model-based property a replay is for: the names printed on a model failure. */
export type ModelProperty = "operations" | "scanPrefix" | "listAppendUnique";

export interface ModelOptions {
  /** fast-check `numRuns` of the main property; default 100 (manual clock), 20 (real). */
  runs?: number;
  /** Start every property from this fast-check seed (default: a random one, printed on failure). */
  seed?: number;
  /**
   * Replays exactly the failure printed by an earlier run (copy the printed `replay`
   * object): the property named there runs its shrunk counterexample only; the other two
   * are left out. `replayPath` is fc.commands' own path, printed for "operations".
   */
  replay?: { property: ModelProperty; seed: number; path: string; replayPath?: string };
}

export interface ConformanceOptions {
  /** Shown in the suite's title. */
  name: string;
  /** The test functions of the caller's runner (the suite imports no runner). */
  test: TestApi;
  /** What the backend does; see Capabilities. */
  capabilities: Capabilities;
  /**
   * A fresh, empty store for one test. Called once per test, more often by tests that
   * need a second store with other options (their stores are independent).
   */
  create(ctx: BackendFactoryContext): KVBackend | Promise<KVBackend>;
  /**
   * Another client of the store the last `create()` returned (remote backends). When
   * given, the concurrency tests split their calls across both clients, and a waiting pop
   * is woken by an append from the other client.
   */
  connectPeer?(ctx: BackendFactoryContext): KVBackend | Promise<KVBackend>;
  /** Runs after each test with every backend the test created; default: `close()` each. */
  dispose?(backend: KVBackend): void | Promise<void>;
  /** The model-based tests (they need the optional peer `fast-check`); `false` leaves them out. */
  model?: ModelOptions | false;
  /**
   * In-process backends: check that `purgeExpired(1000)` beside 100,000 live entries
   * takes about as long as beside 1,000 (an O(store size) purge fails). Off by default:
   * it writes 100,000 entries.
   */
  checkPurgeScaling?: boolean;
}
