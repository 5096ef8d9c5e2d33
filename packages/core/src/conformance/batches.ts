import type { JsonValue } from "../types.js";
import { expect } from "./assert.js";
import { bad, expectRejectedUnchanged, LONG_TTL, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

export function defineBatchTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("batches", "Batches", () => {
    const h = useHarness(suite);

    // SPEC "Batches": "mget(keys) returns one slot per key, in order, undefined for missing
    // or expired keys; repeated keys are allowed; [] for []."
    it("mget returns one slot per key, in order, with repeats and undefined for missing keys", async () => {
      const kv = h.kv;
      await kv.mset({ a: 1, b: "two", c: null, d: [3], e: { four: 4 } });
      expect(await kv.mget([]), "mget([])").toEqual([]);
      expect(await kv.mget(["e", "missing", "a", "c", "a", "d", "b", "missing"]), "mget").toEqual([
        { four: 4 },
        undefined,
        1,
        null,
        1,
        [3],
        "two",
        undefined,
      ]);
      const many = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `missing${i}` : "a"));
      expect(await kv.mget(many), "mget of 300 keys").toEqual(
        many.map((k) => (k === "a" ? 1 : undefined)),
      );
    });

    it("mget rejects keys that are not an array of keys", async () => {
      const kv = h.kv;
      await kv.set("a", 1);
      for (const keys of [undefined, null, "a", 5, {}, new Set(["a"])]) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.mget(bad(keys)),
          "KV_INVALID_ARGUMENT",
          "mget",
          /keys/,
          `mget(${show(keys)})`,
        );
      }
    });

    // SPEC "Batches": "mset(entries, { ttlSeconds }) writes all entries with the one shared
    // TTL. [...] For an iterable of pairs the last pair for a key wins."
    it("mset takes a record, a Map, an array of pairs or any iterable of pairs", async () => {
      const kv = h.kv;
      await kv.mset({ r1: 1, r2: { nested: [1] } });
      await kv.mset(
        new Map<string, JsonValue>([
          ["m1", "map"],
          ["m2", null],
        ]),
      );
      await kv.mset([
        ["p1", [1, 2]],
        ["p2", false],
      ]);
      function* pairs(): Generator<readonly [string, JsonValue]> {
        yield ["g1", "generated"];
        yield ["g2", 2];
      }
      await kv.mset(pairs());
      expect(
        await kv.mget(["r1", "r2", "m1", "m2", "p1", "p2", "g1", "g2"]),
        "every form of entries",
      ).toEqual([1, { nested: [1] }, "map", null, [1, 2], false, "generated", 2]);
      for (const empty of [{}, [], new Map()]) {
        await kv.mset(empty);
      }
      expect((await kv.scanPrefix("")).length, "empty msets write nothing").toBe(8);
    });

    it("mset: the last pair for a key wins, and existing values are replaced", async () => {
      const kv = h.kv;
      await kv.set("a", "old");
      await kv.mset([
        ["a", 1],
        ["b", 1],
        ["a", 2],
        ["c", 1],
        ["a", 3],
      ]);
      expect(await kv.mget(["a", "b", "c"]), "the last pair wins").toEqual([3, 1, 1]);
      await kv.mset({ a: [1], b: { x: 1 } });
      expect(await kv.mget(["a", "b", "c"]), "mset replaces values of any type").toEqual([
        [1],
        { x: 1 },
        1,
      ]);
    });

    // SPEC "Batches": mset writes every pair, however many. 2,500 keys is past the sizes
    // at which engines split a batch (a Redis script's MSET goes 1,000 keys at a time).
    it("mset writes every entry of a large batch, with a TTL and without", async () => {
      const kv = h.kv;
      const keys = Array.from({ length: 2500 }, (_, i) => `many:${i}`);
      await kv.mset(keys.map((key, i) => [key, { i }] as const));
      const plain = await kv.mget(keys);
      expect(
        plain.every((v, i) => (v as { i: number } | undefined)?.i === i),
        "every key holds its own value",
      ).toBe(true);
      await kv.mset(
        keys.map((key, i) => [key, -i] as const),
        { ttlSeconds: LONG_TTL },
      );
      expect(
        (await kv.mget(keys)).every((v, i) => v === -i),
        "with a TTL, every key holds its new value",
      ).toBe(true);
      for (const key of [keys[0]!, keys[2499]!]) {
        const left = await kv.ttl(key);
        expect(
          left !== undefined && left > 0 && left <= LONG_TTL,
          `${key} has the TTL (${left})`,
        ).toBe(true);
      }
    });

    // SPEC "Batches": "It is all-or-nothing: if any key or value is invalid, nothing is
    // written." The bad entry always comes last, after entries that would be fine.
    it("mset is all-or-nothing: one bad entry writes nothing", async () => {
      const kv = h.kv;
      await kv.mset({ a: "old a", b: "old b" }, { ttlSeconds: LONG_TTL });
      await kv.set("plain", "old");
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const cases: Array<[string, () => Promise<void>]> = [
        ["an empty key in a record", () => kv.mset({ a: 1, new: 1, "": 1 })],
        ["a lone surrogate key in a record", () => kv.mset({ a: 1, new: 1, "\uD800": 1 })],
        ["a non-string key in pairs", () => kv.mset([["a", 1], ["new", 1], bad([5, 1])])],
        [
          "an empty key in a Map",
          () =>
            kv.mset(
              new Map([
                ["a", 1],
                ["new", 1],
                ["", 1],
              ]),
            ),
        ],
        ["undefined as a value", () => kv.mset({ a: 1, new: 1, bad: bad(undefined) })],
        [
          "a function as a value",
          () =>
            kv.mset([
              ["a", 1],
              ["new", 1],
              ["bad", bad(() => 1)],
            ]),
        ],
        ["a symbol as a value", () => kv.mset({ a: 1, new: 1, bad: bad(Symbol("s")) })],
        ["a nested BigInt", () => kv.mset({ a: 1, new: 1, bad: bad({ n: [1n] }) })],
        ["a cycle", () => kv.mset({ a: 1, new: 1, bad: bad(cycle) })],
        ["a pair that is not a pair", () => kv.mset([["a", 1], ["new", 1], bad(5)])],
        ["a pair missing its value", () => kv.mset([["a", 1], ["new", 1], bad(["k"])])],
        ["an invalid ttlSeconds", () => kv.mset({ a: 1, new: 1 }, { ttlSeconds: -1 })],
      ];
      for (const [label, call] of cases) {
        await expectRejectedUnchanged(
          h,
          kv,
          call,
          "KV_INVALID_ARGUMENT",
          "mset",
          undefined,
          `mset with ${label}`,
        );
      }
      for (const entries of [undefined, null, "ab", 5, true]) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.mset(bad(entries)),
          "KV_INVALID_ARGUMENT",
          "mset",
          /entries/,
          `mset(${show(entries)})`,
        );
      }
      expect(await kv.mget(["a", "b", "plain", "new"]), "previous values intact").toEqual([
        "old a",
        "old b",
        "old",
        undefined,
      ]);
    });
  });
}
