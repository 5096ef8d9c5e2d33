import type { JsonValue } from "../types.js";
import { expect } from "./assert.js";
import { bad, expectRejectedUnchanged, show, useHarness, viaJson } from "./harness.js";
import type { Suite } from "./suite.js";

const MiB = 1024 * 1024;

/** Values and what a JSON round trip makes of them; every read must return the latter. */
function roundTripCases(): Array<[label: string, value: unknown]> {
  const withProtoKey = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
  return [
    ["null", null],
    ["true", true],
    ["false", false],
    ["zero", 0],
    ["negative zero (JSON: 0)", -0],
    ["a fraction", -1.5],
    ["a large float", 1e300],
    ["a tiny float", 5e-324],
    ["MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
    ["an integer beyond the safe range", 2 ** 60],
    ["NaN (JSON: null)", Number.NaN],
    ["Infinity (JSON: null)", Number.POSITIVE_INFINITY],
    ["the empty string", ""],
    ["unicode", 'é 日本語 😀 \u0000 \n\t "quoted" \\ \u2028 \uFFFF'],
    ["a lone surrogate inside a value (JSON escapes it)", "x\uD800y"],
    ["an empty array", []],
    ["an empty object", {}],
    ["a Date (JSON: its ISO string)", new Date(Date.UTC(2024, 1, 29, 12, 30, 0, 123))],
    [
      "nested",
      { a: [1, { b: [[], {}, null, "s"] }], c: { d: { e: { f: [true, false] } } }, "": "empty" },
    ],
    [
      "undefined/function members (JSON: dropped / null)",
      { a: undefined, f: () => 1, arr: [undefined, () => 1] },
    ],
    ["an object with toJSON", { toJSON: () => ({ replaced: true }) }],
    ["a Map (JSON: {})", new Map([["k", "v"]])],
    ["an own __proto__ key", withProtoKey],
    ["a deep array", Array.from({ length: 100 }, (_, i) => ({ i, s: `item ${i}` }))],
  ];
}

/** What JSON cannot hold: SPEC "Values", rejected with KV_INVALID_ARGUMENT. */
function unstorableValues(): Array<[label: string, value: unknown]> {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const arrayCycle: unknown[] = [1];
  arrayCycle.push({ back: arrayCycle });
  return [
    ["undefined", undefined],
    ["a function", () => 1],
    ["a symbol", Symbol("v")],
    ["a BigInt", 10n],
    ["a nested BigInt", { a: [1, { b: 2n }] }],
    ["a cycle", cycle],
    ["a cycle through an array", arrayCycle],
  ];
}

/** A string whose JSON text (quotes included) is exactly `bytes` bytes of UTF-8. */
function jsonStringOfBytes(bytes: number, unit = "x"): string {
  const unitBytes = Buffer.byteLength(JSON.stringify(unit), "utf8") - 2;
  const body = bytes - 2;
  const units = Math.floor(body / unitBytes);
  const value = unit.repeat(units) + "x".repeat(body - units * unitBytes);
  // Guard the fixture itself, so a miscount here cannot pass for a backend bug.
  if (Buffer.byteLength(JSON.stringify(value), "utf8") !== bytes) {
    throw new Error(`fixture: a JSON string of ${bytes} bytes came out wrong`);
  }
  return value;
}

/** Mutates any JSON-ish value in place, deeply enough that a shared object would show it. */
function scribble(value: unknown): void {
  if (Array.isArray(value)) {
    value.push("scribbled");
    for (const v of value) scribble(v);
  } else if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) scribble(record[k]);
    record.scribbled = true;
  }
}

const sample = (): JsonValue => ({ name: "a", tags: ["x", "y"], nested: { n: 1 } });

export function defineValueTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("values", "Values", () => {
    const h = useHarness(suite);

    // SPEC "Values": "What a read returns deep-equals JSON.parse(JSON.stringify(v)) of what
    // was written (so Date comes back as its ISO string, NaN as null)."
    it("returns what a JSON round trip of the written value gives, through every read", async () => {
      const kv = h.kv;
      const cases = roundTripCases();
      for (const [i, [, value]] of cases.entries()) {
        await kv.set(`v${i}`, value as JsonValue);
      }
      const keys = cases.map((_, i) => `v${i}`);
      const many = await kv.mget(keys);
      for (const [i, [label, value]] of cases.entries()) {
        const expected = viaJson(value);
        expect(await kv.get(`v${i}`), `get: ${label}`).toEqual(expected);
        expect(many[i], `mget: ${label}`).toEqual(expected);
      }
      await kv.mset(cases.map(([, value], i) => [`m${i}`, value as JsonValue] as const));
      for (const [i, [label, value]] of cases.entries()) {
        expect(await kv.get(`m${i}`), `get after mset: ${label}`).toEqual(viaJson(value));
      }
      // An own "__proto__" member stays an own, ordinary member; nothing is polluted.
      const proto = (await kv.get(`v${cases.findIndex(([l]) => l === "an own __proto__ key")}`)) as
        | Record<string, unknown>
        | undefined;
      expect(Object.hasOwn(proto ?? {}, "__proto__"), "an own __proto__ member survives").toBe(
        true,
      );
      expect(({} as Record<string, unknown>).polluted, "Object.prototype polluted").toBeUndefined();
      // -0 is written as 0 by JSON: the read must not resurrect it.
      const negativeZero = `v${cases.findIndex(([l]) => l.startsWith("negative zero"))}`;
      expect(Object.is(await kv.get(negativeZero), 0), "negative zero reads back as 0").toBe(true);
    });

    it("round-trips list items through listAppendUnique and listPopAll", async () => {
      const kv = h.kv;
      const items = [
        { id: 1, when: new Date(Date.UTC(2020, 0, 1)), nan: Number.NaN, s: "é😀" },
        { id: "two", nested: { deep: [1, [2, [3]]] }, gone: undefined },
      ];
      const expected = viaJson(items);
      expect(await kv.listAppendUnique("list", items), "listAppendUnique result").toEqual(expected);
      expect(await kv.get("list"), "get of the list").toEqual(expected);
      expect(await kv.listPopAll("list"), "listPopAll").toEqual(expected);
    });

    // SPEC "Values": "Stored by value: mutating an argument after the call, or a value a read
    // returned, never changes what is stored; two reads never return the same object."
    it("set/mset store a copy: mutating the argument afterwards changes nothing", async () => {
      const kv = h.kv;
      const value = sample();
      await kv.set("k", value);
      const record: Record<string, JsonValue> = { a: sample(), b: [sample()] };
      await kv.mset(record);
      const pairValue = sample();
      await kv.mset([["p", pairValue]]);
      scribble(value);
      scribble(record.a);
      scribble(record.b);
      record.a = "replaced";
      scribble(pairValue);
      expect(await kv.get("k"), "set's argument was mutated after the call").toEqual(sample());
      expect(
        await kv.mget(["a", "b", "p"]),
        "mset's arguments were mutated after the call",
      ).toEqual([sample(), [sample()], sample()]);
    });

    it("get/mget return copies: mutating a result changes nothing, and no two reads share an object", async () => {
      const kv = h.kv;
      await kv.set("k", sample());
      const first = await kv.get("k");
      scribble(first);
      const second = await kv.get("k");
      expect(second, "get after mutating an earlier get's result").toEqual(sample());
      expect(second, "two gets returned the same object").not.toBe(first);
      const [m1, m2] = await kv.mget(["k", "k"]);
      expect(m1, "mget of a repeated key returned one object twice").not.toBe(m2);
      scribble(m1);
      expect(m2, "mutating one mget slot changed another").toEqual(sample());
      expect(await kv.get("k"), "get after mutating an mget result").toEqual(sample());
      const [m3] = await kv.mget(["k"]);
      expect(m3, "two mgets returned the same object").not.toBe(m2);
    });

    it("listAppendUnique/listPopAll copy items in and out", async () => {
      const kv = h.kv;
      const item = { id: 1, data: { n: 1 } };
      const items = [item];
      const returned = await kv.listAppendUnique("list", items);
      item.data.n = 99;
      items.push({ id: 2, data: { n: 2 } });
      expect(await kv.get("list"), "mutating the items after the call").toEqual([
        { id: 1, data: { n: 1 } },
      ]);
      scribble(returned);
      const again = await kv.listAppendUnique("list", []);
      expect(again, "mutating listAppendUnique's result").toEqual([{ id: 1, data: { n: 1 } }]);
      const third = await kv.listAppendUnique("list", []);
      expect(third, "two listAppendUnique calls returned the same array").not.toBe(again);
      expect(third[0], "two listAppendUnique calls returned the same item").not.toBe(again[0]);
      const read = await kv.get<JsonValue[]>("list");
      scribble(read);
      const popped = await kv.listPopAll("list");
      expect(popped, "listPopAll after mutating a get's result").toEqual([
        { id: 1, data: { n: 1 } },
      ]);
      expect(popped, "listPopAll returned the object get had returned").not.toBe(read);
    });

    // SPEC "Values": "Rejected with KV_INVALID_ARGUMENT and nothing stored: undefined, a
    // function or a symbol as the value, a BigInt anywhere, a cycle."
    it("rejects what JSON cannot hold, through set, mset and listAppendUnique, storing nothing", async () => {
      const kv = h.kv;
      await kv.set("k", "old");
      await kv.listAppendUnique("list", [{ id: 1 }]);
      for (const [label, value] of unstorableValues()) {
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.set("k", bad(value)),
          "KV_INVALID_ARGUMENT",
          "set",
          /value/,
          `set(existing key, ${label})`,
        );
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.set("new", bad(value)),
          "KV_INVALID_ARGUMENT",
          "set",
          /value/,
          `set(new key, ${label})`,
        );
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.mset({ fresh: 1, k: "new", bad: bad(value) }),
          "KV_INVALID_ARGUMENT",
          "mset",
          undefined,
          `mset({..., ${label}})`,
        );
        if (typeof value === "object" && value !== null) {
          await expectRejectedUnchanged(
            h,
            kv,
            () => kv.listAppendUnique("list", [{ id: 2 }, { id: 3, payload: bad(value) }]),
            "KV_INVALID_ARGUMENT",
            "listAppendUnique",
            /item/,
            `listAppendUnique(list, an item holding ${label})`,
          );
        }
      }
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.listAppendUnique("list", [{ id: 2, big: 1n }]),
        "KV_INVALID_ARGUMENT",
        "listAppendUnique",
        /item/,
        "listAppendUnique(list, an item holding a BigInt)",
      );
    });

    // SPEC "Values": "null is a value: get returns the stored null, not the default."
    it("stores null as a value, distinct from a missing key", async () => {
      const kv = h.kv;
      await kv.set("nothing", null);
      expect(await kv.get("nothing", "default"), "get of a stored null").toBeNull();
      expect(await kv.mget(["nothing", "missing"]), "mget").toEqual([null, undefined]);
      expect(await kv.exists("nothing"), "exists of a stored null").toBe(true);
      expect(await kv.ttl("nothing"), "ttl of a stored null").toBe(Number.POSITIVE_INFINITY);
      expect(await kv.scanPrefix("noth"), "scanPrefix").toEqual(["nothing"]);
      expect(await kv.delete("nothing"), "delete of a stored null").toBe(true);
      expect(await kv.get("nothing", "default"), "get after delete").toBe("default");
    });

    // SPEC "get(key, defaultValue)": the default, whatever it is, for a missing key.
    it("get returns the default for a missing key, and the stored value over a falsy default", async () => {
      const kv = h.kv;
      expect(await kv.get("missing"), "get without a default").toBeUndefined();
      for (const dflt of [0, false, "", null, "d", { o: 1 }]) {
        expect(await kv.get("missing", dflt), `get(missing, ${show(dflt)})`).toEqual(dflt);
      }
      await kv.mset({ zero: 0, no: false, empty: "", arr: [] });
      expect(await kv.get("zero", 5), "stored 0").toBe(0);
      expect(await kv.get("no", true), "stored false").toBe(false);
      expect(await kv.get("empty", "d"), "stored ''").toBe("");
      expect(await kv.get("arr", "d"), "stored []").toEqual([]);
    });

    // SPEC "Values": "The UTF-8 size of a value's JSON text is limited by the backend option
    // maxValueBytes (default 1 MiB); over it: KV_VALUE_TOO_LARGE, nothing stored."
    it("accepts a value of exactly 1 MiB of JSON by default and rejects one byte more", async () => {
      const kv = h.kv;
      await kv.set("k", "old");
      const cases: Array<[string, string]> = [
        ["ASCII", "x"],
        ["2-byte UTF-8 (é)", "é"],
        ["4-byte UTF-8 (😀)", "😀"],
        ["escaped by JSON (\\n)", "\n"],
      ];
      for (const [label, unit] of cases) {
        const fits = jsonStringOfBytes(MiB, unit);
        await kv.set("big", fits);
        expect(await kv.get("big"), `a value of exactly 1 MiB (${label}) was not stored`).toBe(
          fits,
        );
        await kv.delete("big");
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.set("k", jsonStringOfBytes(MiB + 1, unit)),
          "KV_VALUE_TOO_LARGE",
          "set",
          undefined,
          `set of 1 MiB + 1 byte (${label})`,
        );
      }
      expect(await kv.get("k"), "the old value survives").toBe("old");
    });

    it("applies a custom maxValueBytes to set, mset and listAppendUnique", async () => {
      const kv = await h.open({ maxValueBytes: 100 });
      await kv.set("k", "old");
      await kv.set("exact", jsonStringOfBytes(100, "é"));
      expect(await kv.exists("exact"), "a value of exactly maxValueBytes").toBe(true);
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.set("k", jsonStringOfBytes(101, "é")),
        "KV_VALUE_TOO_LARGE",
        "set",
        undefined,
        "set one byte over maxValueBytes",
      );
      // All or nothing: the oversized value comes last, after entries that would fit.
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.mset({ fresh: 1, k: "new", huge: jsonStringOfBytes(101) }),
        "KV_VALUE_TOO_LARGE",
        "mset",
        undefined,
        "mset with one value over maxValueBytes",
      );
      await kv.mset({ a: jsonStringOfBytes(100), b: jsonStringOfBytes(100) });
      expect(await kv.exists("a"), "mset of values of exactly maxValueBytes").toBe(true);

      // SPEC "Values": "For listAppendUnique the limit applies to the resulting list."
      const first = { id: 1, pad: "" };
      // [{"id":1,"pad":""}] is 20 bytes; pad it so that the list is exactly 60 bytes.
      first.pad = "x".repeat(60 - JSON.stringify([first]).length);
      await kv.listAppendUnique("list", [first]);
      const second = { id: 2, pad: "" };
      // Appending adds "," + the item: make the result exactly 100 bytes.
      second.pad = "y".repeat(100 - JSON.stringify([first, second]).length);
      expect(
        await kv.listAppendUnique("list", [second]),
        "a resulting list of exactly maxValueBytes",
      ).toEqual([first, second]);
      expect(JSON.stringify([first, second]).length).toBe(100);
      // Items that each fit, but not together with the list.
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.listAppendUnique("list", [{ id: 3 }]),
        "KV_VALUE_TOO_LARGE",
        "listAppendUnique",
        undefined,
        "listAppendUnique making the list one item too long",
      );
      // A duplicate is not appended, so however large it is, the list does not grow.
      expect(
        await kv.listAppendUnique("list", [{ id: 1, pad: "z".repeat(500) }]),
        "a large duplicate adds nothing and is not measured",
      ).toEqual([first, second]);
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.listAppendUnique("fresh-list", [{ id: 1, pad: "z".repeat(100) }]),
        "KV_VALUE_TOO_LARGE",
        "listAppendUnique",
        undefined,
        "listAppendUnique starting a list over maxValueBytes",
      );
    });

    it("measures the size limit on the whole JSON text, keys and nesting included", async () => {
      const kv = await h.open({ maxValueBytes: 50 });
      const fits: JsonValue = { key: ["é".repeat(10), 12345], b: null };
      expect(Buffer.byteLength(JSON.stringify(fits)), "fixture size").toBeLessThanOrEqual(50);
      await kv.set("fits", fits);
      expect(await kv.get("fits"), "a nested value under the limit").toEqual(fits);
      const over: JsonValue = { key: ["é".repeat(13), 12345], b: null };
      expect(Buffer.byteLength(JSON.stringify(over)), "fixture size").toBeGreaterThan(50);
      expect(JSON.stringify(over).length, "fixture size in code units").toBeLessThanOrEqual(50);
      await expectRejectedUnchanged(
        h,
        kv,
        () => kv.set("fits", over),
        "KV_VALUE_TOO_LARGE",
        "set",
        undefined,
        "set of a value under the limit in UTF-16 code units but over it in UTF-8 bytes",
      );
    });
  });
}
