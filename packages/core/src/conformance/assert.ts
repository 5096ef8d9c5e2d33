import { inspect, isDeepStrictEqual } from "node:util";

/*
 * The suite's own assertions: a small subset of vitest's `expect(value, label).toBe(…)`,
 * so the suite runs under any test runner (vitest, node:test, bun, deno) without
 * importing one. Every failure throws a ConformanceAssertionError whose message says
 * what was checked (the label), what was expected and what came back; the test wrapper
 * (test-api.ts) then prefixes the SPEC.md section the test checks.
 */

/** A failed expectation of the conformance suite. */
export class ConformanceAssertionError extends Error {
  override name = "ConformanceAssertionError";
}

/** A value rendered for an assertion message: short, and exact about odd values. */
export function show(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY, maxStringLength: 80 });
}

/** Fails the test with `message`. */
export function fail(message: string): never {
  throw new ConformanceAssertionError(message);
}

/** Where two deep structures first differ, e.g. `[2].id`: found faster in a big list than by eye. */
function firstDifference(actual: unknown, expected: unknown, path = ""): string | undefined {
  if (isDeepStrictEqual(actual, expected)) return undefined;
  const bothArrays = Array.isArray(actual) && Array.isArray(expected);
  const bothPlain =
    !bothArrays &&
    typeof actual === "object" &&
    typeof expected === "object" &&
    actual !== null &&
    expected !== null &&
    !Array.isArray(actual) &&
    !Array.isArray(expected);
  if (bothArrays) {
    const [a, e] = [actual as unknown[], expected as unknown[]];
    for (let i = 0; i < Math.min(a.length, e.length); i++) {
      const inner = firstDifference(a[i], e[i], `${path}[${i}]`);
      if (inner !== undefined) return inner;
    }
    return `${path || "the array"}: length ${a.length}, expected ${e.length}`;
  }
  if (bothPlain) {
    const [a, e] = [actual as Record<string, unknown>, expected as Record<string, unknown>];
    for (const key of new Set([...Object.keys(e), ...Object.keys(a)])) {
      const inner = firstDifference(a[key], e[key], `${path}.${key}`);
      if (inner !== undefined) return inner;
    }
  }
  return `${path || "the value"}: ${show(actual)}, expected ${show(expected)}`;
}

function deepMismatch(label: string, actual: unknown, expected: unknown): string {
  const where = firstDifference(actual, expected);
  return `${label}: expected ${show(expected)}, got ${show(actual)}${where ? ` (first difference at ${where})` : ""}`;
}

type TypeName = "number" | "string" | "boolean" | "object" | "undefined" | "function";

export interface Expectation {
  /** `Object.is` equality. */
  toBe(expected: unknown): void;
  /** Deep equality (`node:util` isDeepStrictEqual: types, prototypes and -0 count). */
  toEqual(expected: unknown): void;
  /** The same as toEqual: the suite compares JSON values, where both mean the same. */
  toStrictEqual(expected: unknown): void;
  toBeUndefined(): void;
  toBeNull(): void;
  toBeTypeOf(type: TypeName): void;
  toBeInstanceOf(type: abstract new (...args: never[]) => unknown): void;
  toBeGreaterThan(bound: number): void;
  toBeGreaterThanOrEqual(bound: number): void;
  toBeLessThan(bound: number): void;
  toBeLessThanOrEqual(bound: number): void;
  /** Equal to `digits` decimal places (the difference is below 10^-digits / 2). */
  toBeCloseTo(expected: number, digits?: number): void;
  toMatch(pattern: RegExp): void;
  toContain(item: unknown): void;
  readonly not: { toBe(unexpected: unknown): void };
}

/**
 * Checks `actual`; `label` says what it is (e.g. `get("k") after the deadline`), and
 * opens the failure message.
 */
export function expect(actual: unknown, label = "value"): Expectation {
  const compare = (ok: boolean, relation: string, bound: number) => {
    if (!ok) fail(`${label}: expected a number ${relation} ${bound}, got ${show(actual)}`);
  };
  const toEqual = (expected: unknown) => {
    if (!isDeepStrictEqual(actual, expected)) fail(deepMismatch(label, actual, expected));
  };
  return {
    toBe(expected) {
      if (!Object.is(actual, expected)) {
        fail(`${label}: expected ${show(expected)}, got ${show(actual)}`);
      }
    },
    toEqual,
    toStrictEqual: toEqual,
    toBeUndefined() {
      if (actual !== undefined) fail(`${label}: expected undefined, got ${show(actual)}`);
    },
    toBeNull() {
      if (actual !== null) fail(`${label}: expected null, got ${show(actual)}`);
    },
    toBeTypeOf(type) {
      if (typeof actual !== type) fail(`${label}: expected a ${type}, got ${show(actual)}`);
    },
    toBeInstanceOf(type) {
      if (!(actual instanceof type)) {
        fail(`${label}: expected an instance of ${type.name}, got ${show(actual)}`);
      }
    },
    toBeGreaterThan: (bound) => compare(typeof actual === "number" && actual > bound, ">", bound),
    toBeGreaterThanOrEqual: (bound) =>
      compare(typeof actual === "number" && actual >= bound, ">=", bound),
    toBeLessThan: (bound) => compare(typeof actual === "number" && actual < bound, "<", bound),
    toBeLessThanOrEqual: (bound) =>
      compare(typeof actual === "number" && actual <= bound, "<=", bound),
    toBeCloseTo(expected, digits = 2) {
      const ok = typeof actual === "number" && Math.abs(actual - expected) < 10 ** -digits / 2;
      if (!ok) fail(`${label}: expected ${expected} (to ${digits} decimals), got ${show(actual)}`);
    },
    toMatch(pattern) {
      if (typeof actual !== "string" || !pattern.test(actual)) {
        fail(`${label}: expected a string matching ${pattern}, got ${show(actual)}`);
      }
    },
    toContain(item) {
      const ok =
        (typeof actual === "string" && typeof item === "string" && actual.includes(item)) ||
        (Array.isArray(actual) && actual.includes(item));
      if (!ok) fail(`${label}: expected ${show(actual)} to contain ${show(item)}`);
    },
    not: {
      toBe(unexpected) {
        if (Object.is(actual, unexpected)) fail(`${label}: expected anything but ${show(actual)}`);
      },
    },
  };
}

/** Awaits `promise` and expects it to resolve to (deeply) `expected`. */
export async function expectResolves(
  promise: Promise<unknown>,
  expected: unknown,
  label: string,
): Promise<void> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    fail(
      `${label}: expected it to resolve to ${show(expected)}, but it rejected with ${show(err)}`,
    );
  }
  expect(value, label).toEqual(expected);
}
