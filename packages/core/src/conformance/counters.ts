import type { JsonValue } from "../types.js";
import { expect } from "./assert.js";
import { bad, expectRejectedUnchanged, LONG_TTL, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

const MAX = Number.MAX_SAFE_INTEGER;
const MIN = Number.MIN_SAFE_INTEGER;

/** Amounts that are not safe integers. */
const INVALID_AMOUNTS: readonly unknown[] = [
  1.5,
  -0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "1",
  null,
  true,
  {},
  1n,
  2 ** 53,
  -(2 ** 53),
  1e300,
];

/** Stored values that are not safe integers. */
const NOT_COUNTERS: ReadonlyArray<[string, JsonValue]> = [
  ["a fraction", 1.5],
  ["a numeric string", "3"],
  ["a string", "abc"],
  ["an array", []],
  ["an object", {}],
  ["null", null],
  ["a boolean", true],
  ["an integer beyond the safe range", 2 ** 53],
  ["a large float", 1e300],
];

export function defineCounterTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("incr", "The rest", () => {
    const h = useHarness(suite);

    // SPEC "incr(key, amount = 1, { ttlSeconds }): amount is a safe integer (negative
    // decrements); a missing key counts as 0; returns the new value."
    it("counts from 0 for a missing key, by 1 by default, and returns the new value", async () => {
      const kv = h.kv;
      expect(await kv.incr("n"), "incr of a missing key").toBe(1);
      expect(await kv.incr("n"), "incr").toBe(2);
      expect(await kv.incr("n", undefined), "incr with amount undefined (the default)").toBe(3);
      expect(await kv.incr("n", 10), "incr by 10").toBe(13);
      expect(await kv.incr("n", -20), "incr by -20").toBe(-7);
      expect(await kv.incr("n", 0), "incr by 0").toBe(-7);
      expect(await kv.get("n"), "get of a counter reads a number").toBe(-7);
      expect(await kv.mget(["n"]), "mget of a counter").toEqual([-7]);
      expect(await kv.incr("down", -5), "decrement of a missing key").toBe(-5);
      expect(await kv.incr("zero", 0), "incr by 0 of a missing key").toBe(0);
      expect(await kv.get("zero"), "incr by 0 stores the 0").toBe(0);
    });

    it("increments integers written by set and mset, up to the safe-integer bounds", async () => {
      const kv = h.kv;
      await kv.set("a", 41);
      expect(await kv.incr("a"), "incr of a set integer").toBe(42);
      await kv.mset({ b: -3, c: 0 });
      expect(await kv.incr("b", 3), "incr of an mset integer").toBe(0);
      await kv.set("max", MAX - 1);
      expect(await kv.incr("max"), "up to MAX_SAFE_INTEGER").toBe(MAX);
      await kv.set("min", MIN + 1);
      expect(await kv.incr("min", -1), "down to MIN_SAFE_INTEGER").toBe(MIN);
      expect(await kv.incr("big", MAX), "an amount of MAX_SAFE_INTEGER").toBe(MAX);
      expect(await kv.incr("big", MIN), "an amount of MIN_SAFE_INTEGER").toBe(0);
      // 2.0 is the integer 2: JSON cannot tell them apart.
      await kv.set("float-looking", 2.0);
      expect(await kv.incr("float-looking"), "incr of 2.0").toBe(3);
    });

    it("rejects an amount that is not a safe integer, changing nothing", async () => {
      const kv = h.kv;
      await kv.set("n", 5, { ttlSeconds: LONG_TTL });
      for (const amount of INVALID_AMOUNTS) {
        for (const key of ["n", "missing"]) {
          await expectRejectedUnchanged(
            h,
            kv,
            () => kv.incr(key, bad(amount)),
            "KV_INVALID_ARGUMENT",
            "incr",
            /amount/,
            `incr(${key}, ${show(amount)})`,
          );
        }
      }
    });

    // SPEC: "A stored value that is not a safe integer fails with KV_WRONG_TYPE [...]; either
    // changes nothing."
    it("fails with KV_WRONG_TYPE on a stored value that is not a safe integer, keeping it", async () => {
      const kv = h.kv;
      for (const [label, value] of NOT_COUNTERS) {
        await kv.set("v", value, { ttlSeconds: LONG_TTL });
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.incr("v"),
          "KV_WRONG_TYPE",
          "incr",
          undefined,
          `incr of ${label}`,
        );
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.incr("v", 1, { ttlSeconds: 5 }),
          "KV_WRONG_TYPE",
          "incr",
          undefined,
          `incr with ttlSeconds of ${label}`,
        );
        expect(await kv.get("v"), `the value (${label}) is kept`).toEqual(value);
      }
    });

    // SPEC: "[...] a result outside the safe-integer range with KV_INVALID_ARGUMENT; either
    // changes nothing."
    it("rejects a result outside the safe-integer range with KV_INVALID_ARGUMENT, keeping the value", async () => {
      const kv = h.kv;
      await kv.set("max", MAX, { ttlSeconds: LONG_TTL });
      await kv.set("min", MIN);
      const cases: Array<[string, () => Promise<number>]> = [
        ["MAX_SAFE_INTEGER + 1", () => kv.incr("max")],
        ["MAX_SAFE_INTEGER + MAX_SAFE_INTEGER", () => kv.incr("max", MAX)],
        ["MAX_SAFE_INTEGER + 1 with ttlSeconds", () => kv.incr("max", 1, { ttlSeconds: 5 })],
        ["MIN_SAFE_INTEGER - 1", () => kv.incr("min", -1)],
        ["MIN_SAFE_INTEGER + MIN_SAFE_INTEGER", () => kv.incr("min", MIN)],
      ];
      for (const [label, call] of cases) {
        await expectRejectedUnchanged(
          h,
          kv,
          call,
          "KV_INVALID_ARGUMENT",
          "incr",
          undefined,
          `incr to ${label}`,
        );
      }
      expect(await kv.mget(["max", "min"]), "the counters are kept").toEqual([MAX, MIN]);
    });
  });
}
