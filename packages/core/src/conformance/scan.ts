import { expect } from "./assert.js";
import { bad, expectRejectedUnchanged, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/** Ascending UTF-16 code-unit order, written out rather than trusting a default sort. */
function byCodeUnits(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Keys whose code-unit order differs from other plausible orders: case-insensitive
 * ("B" < "a"), locale ("é" after "z"), and UTF-8 / code point order, where "😀"
 * (U+1F600, surrogates D83D DE00) sorts after "\uFFFF" but in code units before "\uE000".
 */
const ORDER_KEYS = [
  "a",
  "B",
  "é",
  "😀",
  "\uFFFF",
  "\uE000",
  "z",
  "Z",
  "aa",
  "a b",
  "a:b",
  "ab",
  "~",
  "\u00FF",
  "\u0100",
  "10",
  "9",
  " ",
  "a\u0000",
];

/** Keys that glob, SQL LIKE or regex patterns would confuse with the literal prefixes below. */
const PATTERN_KEYS = [
  "a*",
  "a*b",
  "ab",
  "aXb",
  "a?",
  "a?b",
  "a[b]",
  "a[b]c",
  "ab]",
  "a\\",
  "a\\b",
  "a%",
  "a%b",
  "a_",
  "a_b",
  "a.b",
  "a^",
  "a$",
  "a{b}",
  "a|b",
  "a(b)",
  "a+",
  "[",
  "*",
];

/** Literal prefixes and exactly which of PATTERN_KEYS each must find. */
const LITERAL_PREFIXES: ReadonlyArray<[string, string[]]> = [
  ["a*", ["a*", "a*b"]],
  ["a?", ["a?", "a?b"]],
  ["a[b]", ["a[b]", "a[b]c"]],
  ["a[", ["a[b]", "a[b]c"]],
  ["a\\", ["a\\", "a\\b"]],
  ["a%", ["a%", "a%b"]],
  ["a_", ["a_", "a_b"]],
  ["a.", ["a.b"]],
  ["a^", ["a^"]],
  ["a$", ["a$"]],
  ["a{", ["a{b}"]],
  ["a|", ["a|b"]],
  ["a(", ["a(b)"]],
  ["a+", ["a+"]],
  ["[", ["["]],
  ["*", ["*"]],
  ["ab", ["ab", "ab]"]],
];

export function defineScanTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("scanPrefix", "The rest", () => {
    const h = useHarness(suite);

    // SPEC: "scanPrefix(prefix, { limit = 1000, after }): the live keys that start with
    // prefix (which may be ""), in ascending code-unit order, strictly after after when
    // given, at most limit of them."
    it("lists keys in ascending UTF-16 code-unit order", async () => {
      const kv = h.kv;
      await kv.mset(ORDER_KEYS.map((key) => [key, 1] as const));
      const sorted = [...ORDER_KEYS].sort(byCodeUnits);
      expect(await kv.scanPrefix(""), "scanPrefix('') in code-unit order").toEqual(sorted);
      const found = await kv.scanPrefix("");
      expect(
        found.indexOf("😀") < found.indexOf("\uE000"),
        "'😀' (D83D DE00) sorts before '\\uE000' in code units, unlike in UTF-8",
      ).toBe(true);
      expect(found.indexOf("B") < found.indexOf("a"), "'B' sorts before 'a'").toBe(true);
      expect(found.indexOf("10") < found.indexOf("9"), "'10' sorts before '9'").toBe(true);
      expect(await kv.scanPrefix("a"), "scanPrefix('a')").toEqual(
        sorted.filter((k) => k.startsWith("a")),
      );
    });

    it("finds exactly the keys that start with the prefix, the prefix itself included", async () => {
      const kv = h.kv;
      await kv.mset({
        "user:1": 1,
        "user:2": 2,
        "user:10": 10,
        user: 0,
        "user:": 0,
        users: 0,
        use: 0,
        "group:user:1": 0,
        "USER:1": 0,
      });
      expect(await kv.scanPrefix("user:"), "scanPrefix('user:')").toEqual([
        "user:",
        "user:1",
        "user:10",
        "user:2",
      ]);
      expect(await kv.scanPrefix("user"), "scanPrefix('user')").toEqual([
        "user",
        "user:",
        "user:1",
        "user:10",
        "user:2",
        "users",
      ]);
      expect(await kv.scanPrefix("nobody"), "a prefix nothing starts with").toEqual([]);
      expect(await kv.scanPrefix("user:1"), "a prefix equal to a key").toEqual([
        "user:1",
        "user:10",
      ]);
    });

    // SPEC: "Characters in prefix are literal, never a pattern."
    it("takes every character of the prefix literally", async () => {
      const kv = h.kv;
      await kv.mset(PATTERN_KEYS.map((key) => [key, 1] as const));
      for (const [prefix, expected] of LITERAL_PREFIXES) {
        expect(await kv.scanPrefix(prefix), `scanPrefix(${show(prefix)})`).toEqual(
          [...expected].sort(byCodeUnits),
        );
      }
    });

    it("lists strictly after `after`, which need not be a stored key", async () => {
      const kv = h.kv;
      const keys = ["k:a", "k:b", "k:c", "k:d", "k:e"];
      await kv.mset(keys.map((key) => [key, 1] as const));
      expect(await kv.scanPrefix("k:", { after: "k:b" }), "after a stored key").toEqual([
        "k:c",
        "k:d",
        "k:e",
      ]);
      expect(await kv.scanPrefix("k:", { after: "k:bb" }), "after a key between two").toEqual([
        "k:c",
        "k:d",
        "k:e",
      ]);
      expect(await kv.scanPrefix("k:", { after: "k:e" }), "after the last key").toEqual([]);
      expect(await kv.scanPrefix("k:", { after: "" }), "after ''").toEqual(keys);
      expect(await kv.scanPrefix("k:", { after: "a" }), "after a key before the prefix").toEqual(
        keys,
      );
      expect(await kv.scanPrefix("k:", { after: "z" }), "after a key past the prefix").toEqual([]);
      expect(await kv.scanPrefix("", { after: "k:c" }), "after, with prefix ''").toEqual([
        "k:d",
        "k:e",
      ]);
    });

    it("returns at most `limit` keys: the first ones, and pages through with `after`", async () => {
      const kv = h.kv;
      const keys = Array.from({ length: 25 }, (_, i) => `p:${String(i).padStart(2, "0")}`);
      await kv.mset(keys.map((key) => [key, 1] as const));
      expect(await kv.scanPrefix("p:", { limit: 1 }), "limit 1").toEqual(["p:00"]);
      expect(await kv.scanPrefix("p:", { limit: 3 }), "limit 3").toEqual(keys.slice(0, 3));
      expect(await kv.scanPrefix("p:", { limit: 100 }), "a limit over the count").toEqual(keys);
      expect(await kv.scanPrefix("p:", { limit: 3, after: "p:10" }), "limit with after").toEqual([
        "p:11",
        "p:12",
        "p:13",
      ]);
      const pages: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 20; page++) {
        const found = await kv.scanPrefix(
          "p:",
          after === undefined ? { limit: 4 } : { limit: 4, after },
        );
        expect(found.length, `page ${page} is at most limit`).toBeLessThanOrEqual(4);
        if (found.length === 0) break;
        pages.push(...found);
        after = found[found.length - 1];
      }
      expect(pages, "paging with limit 4 and after lists every key once").toEqual(keys);
    });

    it("returns at most 1000 keys by default", async () => {
      const kv = h.kv;
      const keys = Array.from({ length: 1005 }, (_, i) => `d:${String(i).padStart(4, "0")}`);
      await kv.mset(keys.map((key, i) => [key, i] as const));
      const found = await kv.scanPrefix("d:");
      expect(found.length, "default limit").toBe(1000);
      expect(found, "the first 1000 keys").toEqual(keys.slice(0, 1000));
      expect(await kv.scanPrefix("d:", { after: found[999] }), "the rest").toEqual(
        keys.slice(1000),
      );
    });

    it("rejects an invalid prefix, limit or after, changing nothing", async () => {
      const kv = h.kv;
      await kv.set("a", 1);
      for (const prefix of [undefined, null, 5, {}, ["a"], "\uD800", "a\uDC00"]) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.scanPrefix(bad(prefix)),
          "KV_INVALID_ARGUMENT",
          "scanPrefix",
          /prefix/,
          `scanPrefix(${show(prefix)})`,
        );
      }
      for (const limit of [0, -1, 1.5, "5", Number.NaN, Number.POSITIVE_INFINITY, null, true]) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.scanPrefix("", { limit: bad(limit) }),
          "KV_INVALID_ARGUMENT",
          "scanPrefix",
          /limit/,
          `scanPrefix('', { limit: ${show(limit)} })`,
        );
      }
      for (const after of [5, {}, ["a"], true]) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.scanPrefix("", { after: bad(after) }),
          "KV_INVALID_ARGUMENT",
          "scanPrefix",
          /after/,
          `scanPrefix('', { after: ${show(after)} })`,
        );
      }
    });
  });
}
