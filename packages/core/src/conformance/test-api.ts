import { ConformanceAssertionError, show } from "./assert.js";

/*
 * The suite never imports a test runner: the caller hands it the runner's four
 * functions. This file adapts their different shapes (per-test timeouts above all) and
 * wraps every test so that its failure names the SPEC.md section it checks.
 */

type Body = () => unknown;

/**
 * The test functions of the caller's runner: vitest's, `node:test`'s, `bun:test`'s or
 * any other with the same four names (keyv's and abstract-level's suites take theirs
 * the same way). Pass the functions themselves, e.g. `test: { describe, it, beforeEach,
 * afterEach }` imported from "vitest" or "node:test".
 */
export interface TestApi {
  // The parameters are loose on purpose: every runner types its own functions
  // differently, and each of them must be assignable here.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  describe: (name: string, fn: () => void) => any;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  it: (name: string, ...rest: any[]) => any;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  beforeEach: (fn: () => Promise<void>) => any;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  afterEach: (fn: () => Promise<void>) => any;
  /**
   * How the runner takes a per-test timeout. `"third-argument"`: `it(name, fn, ms)`
   * (vitest, bun). `"options-argument"`: `it(name, { timeout: ms }, fn)` (node:test,
   * deno's node:test). Default: `"third-argument"` when `it.each` exists (vitest and
   * bun have it, node:test has not), else `"options-argument"`.
   */
  timeoutArgument?: "third-argument" | "options-argument";
}

export interface TestSettings {
  /** The SPEC.md section the test checks, when it is not its group's. */
  section?: string;
  /** The test's own time limit; default the suite's (15 s manual clock, 60 s real). */
  timeoutMs?: number;
}

/** What the suite's files register tests with. */
export interface Registrar {
  describe(name: string, section: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, settings?: TestSettings): void;
  beforeEach(fn: () => Promise<void>): void;
  afterEach(fn: () => Promise<void>): void;
}

/** Where the contract is, for every failure message. */
const SPEC_LOCATION = "SPEC.md ships in @kv/core: node_modules/@kv/core/SPEC.md";

/**
 * The runner's timeout is this much longer than the suite's own, so that the suite's
 * message (which names the test and its limit) is the one the author sees.
 */
const RUNNER_GRACE_MS = 10_000;

/** Prefixes the SPEC section to a failure; other errors (a backend's) are wrapped likewise. */
function explain(err: unknown, section: string, testName: string): Error {
  const where = `[SPEC "${section}"]`;
  if (err instanceof ConformanceAssertionError) {
    err.message = `${where} ${err.message}\n(${SPEC_LOCATION})`;
    // Some runners print the stack, which starts with the old message.
    if (err.stack !== undefined) {
      err.stack = `${err.name}: ${err.message}\n${err.stack.split("\n").slice(1).join("\n")}`;
    }
    return err;
  }
  return new Error(
    `${where} "${testName}" threw where no error was expected: ${show(err)}\n(${SPEC_LOCATION})`,
    { cause: err },
  );
}

function withTimeout(body: () => Promise<void>, ms: number, testName: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConformanceAssertionError(
            `"${testName}" did not finish within ${ms / 1000} s: a call that never settles (a lost wake-up, a hung connection)?`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([body(), limit]).finally(() => clearTimeout(timer));
}

export function createRegistrar(test: TestApi, defaultTimeoutMs: number): Registrar {
  const style =
    test.timeoutArgument ??
    (typeof (test.it as { each?: unknown }).each === "function"
      ? "third-argument"
      : "options-argument");
  // The section of the innermost group being defined; captured by each test at definition.
  let section = "The interface";

  return {
    describe(name, groupSection, fn) {
      test.describe(name, () => {
        const outer = section;
        section = groupSection;
        try {
          fn();
        } finally {
          section = outer;
        }
      });
    },
    it(name, fn, settings = {}) {
      const testSection = settings.section ?? section;
      const ms = settings.timeoutMs ?? defaultTimeoutMs;
      const run = async () => {
        try {
          await withTimeout(fn, ms, name);
        } catch (err) {
          throw explain(err, testSection, name);
        }
      };
      if (style === "third-argument") test.it(name, run as Body, ms + RUNNER_GRACE_MS);
      else test.it(name, { timeout: ms + RUNNER_GRACE_MS }, run as Body);
    },
    beforeEach: (fn) => test.beforeEach(fn),
    afterEach: (fn) => test.afterEach(fn),
  };
}
