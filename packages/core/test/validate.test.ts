import { describe, expect, it } from "vitest";
import {
  assertKey,
  assertKeys,
  describeValue,
  encodeEntries,
  isKVError,
  KVError,
  resolveAmount,
  resolveLimit,
  resolveScan,
} from "./internals.js";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isKVError(e) ? e.code : "other";
  }
  return "ok";
}

describe("keys", () => {
  it("accepts any non-empty well-formed string, pattern characters included", () => {
    for (const key of ["a", "__proto__", "constructor", "*", "[a]", "a:b:c", " ", "😀"]) {
      expect(
        code(() => assertKey("get", key)),
        key,
      ).toBe("ok");
    }
  });

  it("rejects the rest, naming the method", () => {
    for (const key of ["", "\uD800", "a\uDC00b", 1, null, undefined, {}]) {
      expect(code(() => assertKey("get", key))).toBe("KV_INVALID_ARGUMENT");
    }
    expect(() => assertKey("get", "")).toThrow(
      'get: key must be a non-empty, well-formed string (got "")',
    );
    expect(code(() => assertKeys("mget", ["a", ""]))).toBe("KV_INVALID_ARGUMENT");
    expect(code(() => assertKeys("mget", "a"))).toBe("KV_INVALID_ARGUMENT");
  });
});

describe("limits, amounts and scans", () => {
  it("checks limits and amounts", () => {
    expect(resolveLimit("purgeExpired", undefined, 1000)).toBe(1000);
    for (const bad of [0, -1, 1.5, "5", Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(code(() => resolveLimit("purgeExpired", bad, 1000))).toBe("KV_INVALID_ARGUMENT");
    }
    expect(resolveAmount("incr", undefined)).toBe(1);
    expect(resolveAmount("incr", -3)).toBe(-3);
    for (const bad of [1.5, 2 ** 53, "1", Number.NaN])
      expect(code(() => resolveAmount("incr", bad))).toBe("KV_INVALID_ARGUMENT");
  });

  it("checks scans", () => {
    expect(resolveScan("scanPrefix", "", undefined)).toEqual({
      prefix: "",
      limit: 1000,
      after: undefined,
    });
    expect(resolveScan("scanPrefix", "a", { limit: 2, after: "ab" })).toEqual({
      prefix: "a",
      limit: 2,
      after: "ab",
    });
    expect(code(() => resolveScan("scanPrefix", 1, undefined))).toBe("KV_INVALID_ARGUMENT");
    expect(code(() => resolveScan("scanPrefix", "\uD800", undefined))).toBe("KV_INVALID_ARGUMENT");
    expect(code(() => resolveScan("scanPrefix", "", { after: 1 as never }))).toBe(
      "KV_INVALID_ARGUMENT",
    );
    expect(code(() => resolveScan("scanPrefix", "", { limit: 0 }))).toBe("KV_INVALID_ARGUMENT");
  });
});

describe("encodeEntries", () => {
  it("takes records, Maps and pairs; the last pair for a key wins", () => {
    expect([...encodeEntries("mset", { a: 1, __proto__: 2 } as never, 100)]).toEqual([["a", "1"]]);
    expect([...encodeEntries("mset", JSON.parse('{"__proto__": 2}'), 100)]).toEqual([
      ["__proto__", "2"],
    ]);
    expect([...encodeEntries("mset", new Map([["a", 1]]), 100)]).toEqual([["a", "1"]]);
    expect([
      ...encodeEntries(
        "mset",
        [
          ["a", 1],
          ["b", 2],
          ["a", 3],
        ],
        100,
      ),
    ]).toEqual([
      ["a", "3"],
      ["b", "2"],
    ]);
  });

  it("rejects the whole batch on one bad key, value or pair", () => {
    expect(
      code(() =>
        encodeEntries(
          "mset",
          [
            ["a", 1],
            ["", 2],
          ],
          100,
        ),
      ),
    ).toBe("KV_INVALID_ARGUMENT");
    expect(
      code(() =>
        encodeEntries(
          "mset",
          [
            ["a", 1],
            ["b", undefined],
          ] as never,
          100,
        ),
      ),
    ).toBe("KV_INVALID_ARGUMENT");
    expect(code(() => encodeEntries("mset", [["a", 1, 2]] as never, 100))).toBe(
      "KV_INVALID_ARGUMENT",
    );
    expect(code(() => encodeEntries("mset", "ab" as never, 100))).toBe("KV_INVALID_ARGUMENT");
    expect(code(() => encodeEntries("mset", null as never, 100))).toBe("KV_INVALID_ARGUMENT");
    expect(code(() => encodeEntries("mset", { a: "x".repeat(200) }, 100))).toBe(
      "KV_VALUE_TOO_LARGE",
    );
  });
});

describe("errors", () => {
  it("recognises KVErrors across copies by brand, not instanceof", () => {
    const err = new KVError("KV_CLOSED", "get: the backend is closed");
    expect(isKVError(err)).toBe(true);
    expect(isKVError(err, "KV_CLOSED")).toBe(true);
    expect(isKVError(err, "KV_WRONG_TYPE")).toBe(false);
    expect(isKVError(new Error("x"))).toBe(false);
    expect(isKVError({ code: "KV_CLOSED" })).toBe(false);
    expect(isKVError(null)).toBe(false);
    // What a second copy of the class looks like: the same registered symbol.
    const foreign = Object.assign(new Error("x"), {
      code: "KV_CLOSED",
      [Symbol.for("@kv/core/KVError")]: true,
    });
    expect(isKVError(foreign, "KV_CLOSED")).toBe(true);
  });

  it("describes rejected values briefly", () => {
    expect(describeValue("x".repeat(100))).toBe(`"${"x".repeat(40)}…"`);
    expect(describeValue(-0)).toBe("-0");
    expect(describeValue(1n)).toBe("1n");
    expect(describeValue([1, 2])).toBe("an array of 2");
    expect(describeValue(new Map())).toBe("an object (Map)");
  });
});
