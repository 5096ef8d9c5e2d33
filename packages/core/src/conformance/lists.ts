import type { JsonValue } from "../types.js";
import { expect } from "./assert.js";
import { bad, expectRejectedUnchanged, LONG_TTL, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

class Item {
  id = 1;
}

/** `items` arguments that are not arrays. */
const NOT_ARRAYS: readonly unknown[] = [undefined, null, "abc", 5, { id: 1 }, new Set([{ id: 1 }])];

/** Items that are not plain objects. */
const NOT_PLAIN_OBJECTS: readonly unknown[] = [
  null,
  undefined,
  5,
  "id",
  true,
  [1],
  [{ id: 1 }],
  new Date(0),
  new Map([["id", 1]]),
  new Item(),
  () => 1,
];

/** Items whose `id` is missing, or neither a string nor a finite number. */
const BAD_IDS: readonly unknown[] = [
  {},
  { name: "no id" },
  { id: undefined },
  { id: null },
  { id: true },
  { id: {} },
  { id: [1] },
  { id: Number.NaN },
  { id: Number.POSITIVE_INFINITY },
  { id: Number.NEGATIVE_INFINITY },
  { id: 10n },
];

/** Values that are not arrays, for the list operations' KV_WRONG_TYPE. */
const NOT_LISTS: ReadonlyArray<[string, JsonValue]> = [
  ["a string", "[1,2]"],
  ["a number", 42],
  ["an object", { 0: { id: 1 }, length: 1 }],
  ["null", null],
  ["a boolean", false],
  ["an empty object", {}],
];

export function defineListTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("lists", "Lists", () => {
    const h = useHarness(suite);

    // SPEC "Lists": "each item must be a plain object whose item[idKey] is a string or a
    // finite number; otherwise KV_INVALID_ARGUMENT and nothing stored."
    it("rejects items that are not an array, changing nothing", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("list", [{ id: 1 }]);
      for (const items of NOT_ARRAYS) {
        for (const key of ["list", "fresh"]) {
          await expectRejectedUnchanged(
            h,
            kv,
            () => kv.listAppendUnique(key, bad(items)),
            "KV_INVALID_ARGUMENT",
            "listAppendUnique",
            /items/,
            `listAppendUnique(${key}, items = ${show(items)})`,
          );
        }
      }
    });

    it("rejects a batch with an item that is not a plain object, even after valid items", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("list", [{ id: 1 }]);
      for (const item of NOT_PLAIN_OBJECTS) {
        for (const key of ["list", "fresh"]) {
          await expectRejectedUnchanged(
            h,
            kv,
            () => kv.listAppendUnique(key, [{ id: 2 }, bad(item), { id: 3 }]),
            "KV_INVALID_ARGUMENT",
            "listAppendUnique",
            /item/,
            `listAppendUnique(${key}, [valid, ${show(item)}, valid])`,
          );
        }
      }
    });

    it("rejects a batch with an item whose id is missing or invalid, even after valid items", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("list", [{ id: 1 }]);
      for (const item of BAD_IDS) {
        for (const key of ["list", "fresh"]) {
          await expectRejectedUnchanged(
            h,
            kv,
            () => kv.listAppendUnique(key, [{ id: 2 }, bad(item)]),
            "KV_INVALID_ARGUMENT",
            "listAppendUnique",
            /id/,
            `listAppendUnique(${key}, [valid, ${show(item)}])`,
          );
        }
      }
      // With a custom idKey, the default "id" does not count.
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.listAppendUnique("list", [{ id: 5 }], { idKey: "key" }),
        "KV_INVALID_ARGUMENT",
        "listAppendUnique",
        /key/,
        "listAppendUnique with idKey 'key' and an item that has only 'id'",
      );
    });

    it("rejects an idKey that is not a non-empty string", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("list", [{ id: 1 }]);
      for (const idKey of ["", 5, null, {}, true]) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.listAppendUnique("list", [{ id: 2, "": 2 }], { idKey: bad(idKey) }),
          "KV_INVALID_ARGUMENT",
          "listAppendUnique",
          /idKey/,
          `listAppendUnique with idKey ${show(idKey)}`,
        );
      }
    });

    // SPEC "Lists": "An item is appended only if no element already in the list, and no
    // earlier item of the same call, has its id: the first occurrence wins and keeps its
    // place. Order is insertion order. The call returns the whole list after the append."
    it("dedupes against the list and within the call; the first occurrence wins", async () => {
      const kv = h.kv;
      expect(
        await kv.listAppendUnique("l", [
          { id: "a", n: 1 },
          { id: "b", n: 1 },
          { id: "a", n: 2 },
        ]),
        "duplicates within the first call",
      ).toEqual([
        { id: "a", n: 1 },
        { id: "b", n: 1 },
      ]);
      expect(
        await kv.listAppendUnique("l", [
          { id: "b", n: 3 },
          { id: "c", n: 3 },
          { id: "a", n: 3 },
          { id: "c", n: 4 },
          { id: "d", n: 3 },
        ]),
        "duplicates of the list and within the call",
      ).toEqual([
        { id: "a", n: 1 },
        { id: "b", n: 1 },
        { id: "c", n: 3 },
        { id: "d", n: 3 },
      ]);
      expect(await kv.get("l"), "get returns the stored list").toEqual([
        { id: "a", n: 1 },
        { id: "b", n: 1 },
        { id: "c", n: 3 },
        { id: "d", n: 3 },
      ]);
      expect(
        await kv.listAppendUnique("l", [{ id: "a", n: 9 }]),
        "all duplicates: the list is returned unchanged",
      ).toEqual([
        { id: "a", n: 1 },
        { id: "b", n: 1 },
        { id: "c", n: 3 },
        { id: "d", n: 3 },
      ]);
    });

    it("keeps insertion order over many calls", async () => {
      const kv = h.kv;
      const expected: JsonValue[] = [];
      for (let call = 0; call < 20; call++) {
        // Ids repeat across calls and within a call (call % 7 === call for the first ones).
        const items = [{ id: call % 7 }, { id: `s${call % 5}` }, { id: call }, { id: call / 2 }];
        for (const item of items) {
          if (!expected.some((e) => (e as { id: unknown }).id === item.id)) expected.push(item);
        }
        expect(await kv.listAppendUnique("l", items), `call ${call}`).toEqual(expected);
      }
    });

    // SPEC "Lists": "Ids compare by type and value (1 and "1" differ)."
    it("compares ids by type and value: 1 and '1' are different ids", async () => {
      const kv = h.kv;
      expect(
        await kv.listAppendUnique("l", [
          { id: 1 },
          { id: "1" },
          { id: 0 },
          { id: "" },
          { id: -2.5 },
        ]),
        "1, '1', 0, '' and -2.5 are five ids",
      ).toEqual([{ id: 1 }, { id: "1" }, { id: 0 }, { id: "" }, { id: -2.5 }]);
      expect(
        await kv.listAppendUnique("l", [{ id: "1" }, { id: 1 }, { id: "0" }, { id: -2.5 }]),
        "only '0' is new",
      ).toEqual([{ id: 1 }, { id: "1" }, { id: 0 }, { id: "" }, { id: -2.5 }, { id: "0" }]);
    });

    it("uses a custom idKey for identity", async () => {
      const kv = h.kv;
      expect(
        await kv.listAppendUnique(
          "l",
          [
            { key: "a", id: 1 },
            { key: "b", id: 1 },
            { key: "a", id: 2 },
          ],
          { idKey: "key" },
        ),
        "dedupe by 'key', not 'id'",
      ).toEqual([
        { key: "a", id: 1 },
        { key: "b", id: 1 },
      ]);
      // Elements without the idKey (here: appended with the default one) take no part.
      await kv.listAppendUnique("l", [{ id: 1 }, { id: 7 }]);
      expect(
        await kv.listAppendUnique("l", [{ key: "b" }, { key: "c" }], { idKey: "key" }),
        "after mixing idKeys",
      ).toEqual([{ key: "a", id: 1 }, { key: "b", id: 1 }, { id: 7 }, { key: "c" }]);
    });

    // SPEC "Lists": "A missing (or expired) key starts a new list. An empty items on a
    // missing key stores nothing and returns []."
    it("stores nothing for an empty append on a missing key, and returns the list for one on an existing key", async () => {
      const kv = h.kv;
      expect(await kv.listAppendUnique("missing", []), "empty append on a missing key").toEqual([]);
      expect(await kv.exists("missing"), "an empty append stored a key").toBe(false);
      expect(await kv.scanPrefix(""), "an empty append stored a key").toEqual([]);
      await kv.listAppendUnique("l", [{ id: 1 }]);
      expect(await kv.listAppendUnique("l", []), "empty append on an existing list").toEqual([
        { id: 1 },
      ]);
      await kv.set("empty", []);
      expect(await kv.listAppendUnique("empty", []), "empty append on a stored []").toEqual([]);
      expect(await kv.exists("empty"), "a stored [] stays").toBe(true);
      expect(await kv.listAppendUnique("empty", [{ id: 1 }]), "append to a stored []").toEqual([
        { id: 1 },
      ]);
    });

    // SPEC "Lists": "Lists are ordinary JSON arrays: get returns them, set of an array can be
    // appended to. Elements of an existing array that are not objects with a valid id are
    // kept as they are and take no part in the comparison."
    it("appends to any stored array, keeping elements without a valid id untouched", async () => {
      const kv = h.kv;
      const stored: JsonValue[] = [
        1,
        "id",
        null,
        [{ id: 2 }],
        { id: 3 },
        { id: null },
        { id: { nested: 4 } },
        { id: "5", extra: true },
        { noId: 6 },
        { id: 7, other: [1, 2] },
      ];
      await kv.set("l", stored);
      expect(
        await kv.listAppendUnique("l", [{ id: 2 }, { id: 3 }, { id: "5" }, { id: 5 }, { id: 7 }]),
        "only ids not among the valid ids of the stored array are appended",
      ).toEqual([...stored, { id: 2 }, { id: 5 }]);
      expect(await kv.get("l"), "get returns the whole array").toEqual([
        ...stored,
        { id: 2 },
        { id: 5 },
      ]);
      await kv.mset({ m: [{ id: "x" }] });
      expect(
        await kv.listAppendUnique("m", [{ id: "x" }, { id: "y" }]),
        "a list from mset",
      ).toEqual([{ id: "x" }, { id: "y" }]);
      await kv.set("l", [{ id: 1 }]);
      expect(await kv.listAppendUnique("l", [{ id: 1 }, { id: 2 }]), "set replaces a list").toEqual(
        [{ id: 1 }, { id: 2 }],
      );
    });

    // SPEC "Lists": "A list operation on a key holding a non-array value fails with
    // KV_WRONG_TYPE and changes nothing (the value is not lost)."
    it("fails list operations on a non-array value with KV_WRONG_TYPE, keeping the value", async () => {
      const kv = h.kv;
      for (const [label, value] of NOT_LISTS) {
        await kv.set("v", value, { ttlSeconds: LONG_TTL });
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.listAppendUnique("v", [{ id: 1 }]),
          "KV_WRONG_TYPE",
          "listAppendUnique",
          undefined,
          `listAppendUnique on ${label}`,
        );
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.listAppendUnique("v", [{ id: 1 }], { ttlSeconds: 5 }),
          "KV_WRONG_TYPE",
          "listAppendUnique",
          undefined,
          `listAppendUnique with ttlSeconds on ${label}`,
        );
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.listAppendUnique("v", []),
          "KV_WRONG_TYPE",
          "listAppendUnique",
          undefined,
          `listAppendUnique with no items on ${label}`,
        );
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.listPopAll("v"),
          "KV_WRONG_TYPE",
          "listPopAll",
          undefined,
          `listPopAll on ${label}`,
        );
        expect(await kv.get("v"), `the value (${label}) is not lost`).toEqual(value);
      }
    });

    // SPEC "Lists": "listPopAll(key) returns the list and deletes the key in one atomic step;
    // [] for a missing or expired key."
    it("listPopAll returns the whole list and deletes the key", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("l", [{ id: 1 }, { id: 2 }], { ttlSeconds: LONG_TTL });
      expect(await kv.listPopAll("l"), "listPopAll").toEqual([{ id: 1 }, { id: 2 }]);
      expect(await kv.exists("l"), "the key is gone after listPopAll").toBe(false);
      expect(await kv.get("l", "default"), "get after listPopAll").toBe("default");
      expect(await kv.listPopAll("l"), "a second listPopAll").toEqual([]);
      expect(await kv.listPopAll("missing"), "listPopAll of a missing key").toEqual([]);
      expect(await kv.exists("missing"), "listPopAll does not create a key").toBe(false);
      const mixed: JsonValue[] = [1, "two", null, [3], { id: 4 }, { noId: true }];
      await kv.set("mixed", mixed);
      expect(await kv.listPopAll("mixed"), "listPopAll of any array").toEqual(mixed);
      await kv.set("empty", []);
      expect(await kv.listPopAll("empty"), "listPopAll of a stored []").toEqual([]);
      expect(await kv.exists("empty"), "listPopAll deletes a stored []").toBe(false);
      const again = await kv.listAppendUnique("l", [{ id: 1 }]);
      expect(again, "a popped key starts a new list").toEqual([{ id: 1 }]);
      expect(await kv.ttl("l"), "the new list does not inherit the popped list's TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
    });

    it("treats lists as ordinary values for every other operation", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("l", [{ id: 1 }]);
      expect(await kv.exists("l"), "exists").toBe(true);
      expect(await kv.mget(["l"]), "mget").toEqual([[{ id: 1 }]]);
      expect(await kv.scanPrefix("l"), "scanPrefix").toEqual(["l"]);
      expect(await kv.ttl("l"), "ttl").toBe(Number.POSITIVE_INFINITY);
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.incr("l"),
        "KV_WRONG_TYPE",
        "incr",
        undefined,
        "incr of a list",
      );
      await kv.set("l", "no longer a list");
      expect(await kv.get("l"), "set replaces a list").toBe("no longer a list");
      await kv.listAppendUnique("l2", [{ id: 1 }]);
      expect(await kv.delete("l2"), "delete of a list").toBe(true);
      expect(await kv.exists("l2"), "exists after delete").toBe(false);
    });
  });
}
