import { describe, expect, it } from "vitest";
import {
  assertSize,
  DEFAULT_MAX_VALUE_BYTES,
  decodeValue,
  encodeValue,
  isKVError,
  resolveMaxValueBytes,
} from "./internals.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isKVError(e) ? e.code : `not a KVError: ${String(e)}`;
  }
  return undefined;
}

describe("encodeValue", () => {
  it("encodes JSON values and decodes fresh copies", () => {
    const value = { a: [1, "x", null, { b: true }] };
    const text = encodeValue("set", value, DEFAULT_MAX_VALUE_BYTES);
    expect(text).toBe(JSON.stringify(value));
    const one = decodeValue(text);
    expect(one).toEqual(value);
    expect(decodeValue(text)).not.toBe(one);
  });

  it("rejects what JSON cannot hold with KV_INVALID_ARGUMENT", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [undefined, () => 1, Symbol("s"), 1n, { deep: [1n] }, cycle]) {
      expect(codeOf(() => encodeValue("set", bad, 100))).toBe("KV_INVALID_ARGUMENT");
    }
    expect(() => encodeValue("set", 1n, 100)).toThrow(/^set: value must be JSON-serializable/);
  });

  it("limits the UTF-8 size of the JSON text, multi-byte characters counted as bytes", () => {
    // "é" is 2 bytes, "😀" 4: the JSON of "é😀" is 1 + 2 + 4 + 1 = 8 bytes in 4 code units.
    expect(codeOf(() => encodeValue("set", "é😀", 8))).toBeUndefined();
    expect(codeOf(() => encodeValue("set", "é😀", 7))).toBe("KV_VALUE_TOO_LARGE");
    expect(codeOf(() => encodeValue("set", "x".repeat(98), 100))).toBeUndefined();
    expect(codeOf(() => encodeValue("set", "x".repeat(99), 100))).toBe("KV_VALUE_TOO_LARGE");
    expect(codeOf(() => assertSize("set", "€".repeat(34), 102))).toBeUndefined();
    expect(codeOf(() => assertSize("set", "€".repeat(35), 104))).toBe("KV_VALUE_TOO_LARGE");
  });

  it("checks maxValueBytes options", () => {
    expect(resolveMaxValueBytes("X", undefined)).toBe(1024 * 1024);
    expect(resolveMaxValueBytes("X", 10)).toBe(10);
    for (const bad of [0, -1, 1.5, "10", Number.NaN]) {
      expect(codeOf(() => resolveMaxValueBytes("X", bad))).toBe("KV_INVALID_ARGUMENT");
    }
  });
});
