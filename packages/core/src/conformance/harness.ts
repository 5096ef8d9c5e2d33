import { ManualClock } from "../clock.js";
import { isKVError, type KVErrorCode } from "../errors.js";
import type { KVBackend } from "../types.js";
import { expect, fail, show } from "./assert.js";
import type { Suite } from "./suite.js";
import type { BackendFactoryContext, ConformanceOptions } from "./types.js";

export { show };

/**
 * The per-test plumbing of the suite: a fresh store (and clock) for every test, more
 * stores on demand, and disposal of all of them after the test, passed or failed.
 * The helpers below compute every expectation with plain JavaScript, never with the
 * @kv/core helpers a backend is built from, so that a bug there cannot hide itself.
 */

/** The TTL, in seconds, that tests wait out. Short, so real-time runs stay quick. */
export const SHORT_TTL = 1;
/** A TTL, in seconds, that outlives every wait of the suite, even on a slow machine. */
export const LONG_TTL = 60;
/**
 * Real time only: how long past a deadline a test sleeps before it expects the entry
 * gone. Timers fire late on a loaded machine, never early, so this only has to cover
 * the server's clock granularity and its lazy expiry (a few ms); the rest is headroom.
 */
const REAL_MARGIN_MS = 700;
/** The manual clock starts here, not at 0, so a deadline computed without `now` shows. */
const MANUAL_START_MS = 1_700_000_000_000;

export interface Harness {
  readonly options: ConformanceOptions;
  /** True when the backend reads time from the suite's manual clock. */
  readonly manual: boolean;
  /** The test's store: fresh and empty for every test. */
  readonly kv: KVBackend;
  /** The test's manual clock (shared by every store of the test); undefined in real time. */
  readonly clock: ManualClock | undefined;
  /**
   * A second client of `kv`'s store (`connectPeer`), or `kv` itself when the backend has
   * no such thing. Only with `useHarness(options, { peer: true })`.
   */
  readonly peer: KVBackend;
  /** Another fresh store, independent of `kv`, built with other factory options. */
  open(overrides?: Partial<Pick<BackendFactoryContext, "maxValueBytes">>): Promise<KVBackend>;
  /** Lets `ms` pass: moves the manual clock, or sleeps in real time. */
  later(ms: number): Promise<void>;
  /**
   * Lets the deadline of an entry written "now" with `ttlSeconds` pass. With a manual
   * clock it stops 1 ms before the deadline to run `justBefore` (the entry must still be
   * live there), then steps onto the deadline itself, the instant SPEC.md says the entry
   * is expired. In real time it sleeps past the deadline with a margin; `justBefore` is
   * not run, as no real-time check that close to a deadline could be reliable.
   */
  passDeadline(ttlSeconds: number, justBefore?: () => Promise<void>): Promise<void>;
}

interface HarnessSettings {
  /** Connect a second client (`connectPeer`) to every test's store. */
  peer?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Registers the hooks that give every test of the enclosing `describe` its own store.
 * Call it at the top of a `describe` callback.
 */
export function useHarness(suite: Suite, settings: HarnessSettings = {}): Harness {
  const { options, manual } = suite;
  const { beforeEach, afterEach } = suite.t;
  let current: { kv: KVBackend; peer: KVBackend; clock: ManualClock | undefined } | undefined;
  // Everything a test created, disposed after it in reverse order (peers before stores).
  let created: KVBackend[] = [];

  const context = (clock: ManualClock | undefined, maxValueBytes?: number) => ({
    clock,
    maxValueBytes,
  });

  async function build(ctx: BackendFactoryContext): Promise<KVBackend> {
    const backend = await options.create(ctx);
    created.push(backend);
    return backend;
  }

  beforeEach(async () => {
    const clock = manual ? new ManualClock(MANUAL_START_MS) : undefined;
    const kv = await build(context(clock));
    let peer = kv;
    if (settings.peer && options.connectPeer !== undefined) {
      peer = await options.connectPeer(context(clock));
      created.push(peer);
    }
    current = { kv, peer, clock };
  });

  afterEach(async () => {
    const backends = created.reverse();
    created = [];
    current = undefined;
    const failures: unknown[] = [];
    for (const backend of backends) {
      try {
        if (options.dispose !== undefined) await options.dispose(backend);
        else await backend.close();
      } catch (err) {
        // A test that closed its store on purpose leaves nothing to dispose.
        if (!isKVError(err, "KV_CLOSED")) failures.push(err);
      }
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `${options.name}: disposing a backend failed`);
    }
  });

  const state = () => {
    if (current === undefined) throw new Error("the harness is only usable inside a test");
    return current;
  };

  return {
    options,
    manual,
    get kv() {
      return state().kv;
    },
    get peer() {
      return state().peer;
    },
    get clock() {
      return state().clock;
    },
    open: (overrides = {}) => build(context(state().clock, overrides.maxValueBytes)),
    async later(ms) {
      const { clock } = state();
      if (clock !== undefined) clock.advance(ms);
      else await sleep(ms);
    },
    async passDeadline(ttlSeconds, justBefore) {
      const { clock } = state();
      // SPEC.md v2's max(1, ceil(s*1000 - 1e-6)); tests pass TTLs where this is exact.
      const ms = Math.max(1, Math.ceil(ttlSeconds * 1000 - 1e-6));
      if (clock === undefined) {
        await sleep(ms + REAL_MARGIN_MS);
        return;
      }
      clock.advance(ms - 1);
      await justBefore?.();
      clock.advance(1);
    },
  };
}

/** Passes an ill-typed argument to a typed method: the suite probes what TypeScript forbids. */
export function bad(value: unknown): never {
  return value as never;
}

/**
 * Expects `call()` to reject with a KVError of `code` whose message names `method`
 * (SPEC.md "Errors": `method: what was expected (got X)`) and, when given, matches
 * `mentions` (usually the argument's name). A synchronous throw fails too: every
 * method of the contract is async and reports errors as rejections.
 */
export async function expectRejection(
  call: () => Promise<unknown>,
  code: KVErrorCode,
  method: string,
  mentions?: RegExp,
  label = `${method}(…)`,
): Promise<Error> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (err) {
    fail(`${label} threw synchronously (${show(err)}); it must return a rejected promise instead`);
  }
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    expect(
      isKVError(err),
      `${label} must reject with a KVError (code ${code}), got ${show(err)}`,
    ).toBe(true);
    const e = err as Error & { code: unknown };
    expect(e.code, `${label} rejected with the wrong code: ${e.message}`).toBe(code);
    expect(e, `${label}: a KVError is an Error`).toBeInstanceOf(Error);
    expect(e.name, `${label}: the error's name`).toBe("KVError");
    expect(e.message, `${label}: the message must start with "${method}: "`).toMatch(
      new RegExp(`^${method}: `),
    );
    if (mentions !== undefined) {
      expect(e.message, `${label}: the message must name what was wrong`).toMatch(mentions);
    }
    return e;
  }
  return fail(`${label} must reject with ${code}, but it resolved to ${show(result)}`);
}

/** What a store holds, read through the public API: keys, values and whether/how long they live. */
export interface Snapshot {
  keys: string[];
  values: unknown[];
  ttls: (number | undefined)[];
}

/**
 * Reads the store's live keys under `prefix`. Reading touches keys, and a backend with
 * lazy expiry may drop an expired one it touches: tests that count purges afterwards
 * keep their expired keys outside `prefix`.
 */
export async function snapshot(kv: KVBackend, prefix = ""): Promise<Snapshot> {
  const keys = await kv.scanPrefix(prefix, { limit: 100_000 });
  const values = await kv.mget(keys);
  const ttls: (number | undefined)[] = [];
  for (const key of keys) ttls.push(await kv.ttl(key));
  return { keys, values, ttls };
}

/**
 * Expects the store to hold exactly what `before` saw. TTLs must match exactly with a
 * manual clock; in real time a TTL may only have run down a little in between.
 */
export async function expectUnchanged(
  h: Harness,
  kv: KVBackend,
  before: Snapshot,
  label: string,
  prefix = "",
): Promise<void> {
  const after = await snapshot(kv, prefix);
  expect(after.keys, `${label}: the store's keys changed`).toEqual(before.keys);
  expect(after.values, `${label}: the store's values changed`).toEqual(before.values);
  for (let i = 0; i < before.keys.length; i++) {
    const was = before.ttls[i];
    const is = after.ttls[i];
    const what = `${label}: the TTL of ${show(before.keys[i])} changed (${was} -> ${is})`;
    if (h.manual || was === Number.POSITIVE_INFINITY || was === undefined) {
      expect(is, what).toBe(was);
    } else {
      expect(is, what).toBeTypeOf("number");
      expect(is as number, what).toBeLessThanOrEqual(was + 0.001);
      expect(is as number, what).toBeGreaterThan(was - 10);
    }
  }
}

/**
 * Expects `call()` to be rejected as `expectRejection` does, and to have changed
 * nothing in `kv`'s store: a failed call has no effect (SPEC.md "Concurrency").
 */
export async function expectRejectedUnchanged(
  h: Harness,
  kv: KVBackend,
  call: () => Promise<unknown>,
  code: KVErrorCode,
  method: string,
  mentions?: RegExp,
  label?: string,
): Promise<void> {
  const before = await snapshot(kv);
  await expectRejection(call, code, method, mentions, label);
  await expectUnchanged(h, kv, before, label ?? `${method}(…)`);
}

/** What a JSON round trip makes of `value`: what every read must deep-equal. */
export function viaJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** Checks that a TTL read through `ttl()` is `seconds`: exactly on a manual clock, else within `slack`. */
export function expectTtl(
  h: Harness,
  actual: number | undefined,
  seconds: number,
  label: string,
  slack = 5,
): void {
  expect(actual, `${label}: ttl() must be a number of seconds`).toBeTypeOf("number");
  if (seconds === Number.POSITIVE_INFINITY) {
    expect(actual, `${label}: ttl() of a key without TTL`).toBe(Number.POSITIVE_INFINITY);
  } else if (h.manual) {
    expect(actual as number, `${label}: ttl() (manual clock, exact)`).toBeCloseTo(seconds, 6);
  } else {
    expect(actual as number, `${label}: ttl() at most the TTL given`).toBeLessThanOrEqual(
      seconds + 0.001,
    );
    expect(actual as number, `${label}: ttl() close to the TTL given`).toBeGreaterThan(
      seconds - slack,
    );
  }
}
