import { describe, expect, it } from "vitest";
import {
  deadlineOf,
  isExpired,
  MAX_TTL_MS,
  ManualClock,
  NO_DEADLINE,
  secondsLeft,
  ttlFromOptions,
  ttlToMs,
} from "./internals.js";

describe("TTL arithmetic", () => {
  it("turns seconds into whole milliseconds, rounding up", () => {
    expect(ttlToMs("set", 1)).toBe(1000);
    expect(ttlToMs("set", 0.0015)).toBe(2);
    expect(ttlToMs("set", 0.0001)).toBe(1);
    expect(ttlToMs("set", 2.5)).toBe(2500);
  });

  it("forgives the binary rounding of s * 1000 (SPEC v2): 2.007 s is 2007 ms", () => {
    // 2.007 * 1000 is 2007.0000000000002 in binary; plain ceil would make it 2008.
    expect(2.007 * 1000).toBeGreaterThan(2007);
    expect(ttlToMs("set", 2.007)).toBe(2007);
    expect(ttlToMs("set", 1.1)).toBe(1100);
    expect(ttlToMs("set", 0.07)).toBe(70);
    expect(ttlToMs("set", 4.35)).toBe(4350);
    expect(ttlToMs("set", 1.0001)).toBe(1001);
    expect(ttlToMs("set", 1e-9)).toBe(1);
  });

  it("keeps very long TTLs at MAX_TTL_MS, never Infinity", () => {
    expect(ttlToMs("set", 1e12)).toBe(1e15);
    expect(ttlToMs("set", 1e300)).toBe(MAX_TTL_MS);
    expect(ttlToMs("set", Number.MAX_VALUE)).toBe(MAX_TTL_MS);
  });

  it("rejects anything but a finite number > 0, naming the method and argument", () => {
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, "5", null, true]) {
      expect(() => ttlToMs("set", bad)).toThrow(
        /^set: ttlSeconds must be a finite number > 0 \(got /,
      );
    }
    expect(() => ttlToMs("set", -5)).toThrow(
      "set: ttlSeconds must be a finite number > 0 (got -5)",
    );
  });

  it("reads options bags", () => {
    expect(ttlFromOptions("set", undefined)).toBeUndefined();
    expect(ttlFromOptions("set", {})).toBeUndefined();
    expect(ttlFromOptions("set", { ttlSeconds: 3 })).toBe(3000);
    expect(() => ttlFromOptions("set", null as never)).toThrow(/options must be an object/);
  });

  it("expires from the instant now >= deadline", () => {
    const d = deadlineOf(1000, 500);
    expect(d).toBe(1500);
    expect(isExpired(d, 1499)).toBe(false);
    expect(isExpired(d, 1500)).toBe(true);
    expect(deadlineOf(1000, undefined)).toBe(NO_DEADLINE);
    expect(isExpired(NO_DEADLINE, Number.MAX_VALUE)).toBe(false);
  });

  it("reports seconds left at millisecond precision", () => {
    expect(secondsLeft(1500, 1000)).toBe(0.5);
    expect(secondsLeft(1500, 1499.2)).toBe(0.001);
    expect(secondsLeft(NO_DEADLINE, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("ManualClock", () => {
  it("moves only forward, when told", () => {
    const clock = new ManualClock(10);
    expect(clock.now()).toBe(10);
    clock.advance(5);
    clock.set(20);
    expect(clock.now()).toBe(20);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set(19)).toThrow(RangeError);
  });
});
