import { describe, expect, it } from "vitest";
import {
  appendToJsonArray,
  idOf,
  incremented,
  isKVError,
  itemsToAppend,
  planListAppend,
  prepareListAppend,
} from "./internals.js";

describe("prepareListAppend", () => {
  it("dedupes within the call, first occurrence wins; ids compare by type", () => {
    const p = prepareListAppend(
      "listAppendUnique",
      [{ id: 1, v: "a" }, { id: "1" }, { id: 1, v: "b" }],
      undefined,
    );
    expect(p.items.map((i) => i.text)).toEqual(['{"id":1,"v":"a"}', '{"id":"1"}']);
    expect(p.idKey).toBe("id");
    expect(p.ttlMs).toBeUndefined();
  });

  it("rejects bad items anywhere in the call, even after a duplicate", () => {
    const bad: unknown[] = [
      "nope",
      [{ id: 1 }, null],
      [{ id: 1 }, [1]],
      [{ id: 1 }, { id: 1, big: 1n }],
      [{ name: "no id" }],
      [{ id: Number.NaN }],
      [{ id: {} }],
      [{ id: true }],
      [
        new (class {
          id = 1;
        })(),
      ],
    ];
    for (const items of bad) {
      let error: unknown;
      try {
        prepareListAppend("listAppendUnique", items, undefined);
      } catch (e) {
        error = e;
      }
      expect(isKVError(error, "KV_INVALID_ARGUMENT"), String(items)).toBe(true);
    }
    expect(() => prepareListAppend("listAppendUnique", [], { idKey: "" })).toThrow(/idKey/);
    expect(() => prepareListAppend("listAppendUnique", [], { ttlSeconds: 0 })).toThrow(
      /ttlSeconds/,
    );
  });

  it("takes the id only from what is stored: no toJSON, no non-enumerable id", () => {
    const twisted = { id: 1, toJSON: () => ({ id: 2 }) };
    expect(() => prepareListAppend("listAppendUnique", [twisted], undefined)).toThrow(/toJSON/);
    const hidden = Object.defineProperty({}, "id", { value: 1, enumerable: false });
    expect(() => prepareListAppend("listAppendUnique", [hidden], undefined)).toThrow(
      /items\[0\]\.id/,
    );
  });

  it("uses own fields only for ids", () => {
    expect(() => prepareListAppend("listAppendUnique", [{}], { idKey: "toString" })).toThrow(
      /toString/,
    );
  });
});

describe("itemsToAppend and appendToJsonArray", () => {
  it("skips ids already in the list, ignoring elements without a valid id", () => {
    const p = prepareListAppend("listAppendUnique", [{ id: 2 }, { id: 3 }, { id: "x" }], undefined);
    const list = [{ id: 2 }, "loose", null, [3], { id: { no: 1 } }, { k: "x" }];
    expect(itemsToAppend(list, p).map((i) => i.id)).toEqual([3, "x"]);
    expect(idOf({ id: 2 }, "id")).toBe(2);
    expect(idOf([2], "0")).toBeUndefined();
  });

  it("splices JSON text without re-encoding the stored elements", () => {
    const p = prepareListAppend("listAppendUnique", [{ id: 1 }, { id: 2 }], undefined);
    expect(appendToJsonArray(undefined, p.items)).toBe('[{"id":1},{"id":2}]');
    expect(appendToJsonArray("[]", p.items)).toBe('[{"id":1},{"id":2}]');
    expect(appendToJsonArray('["a"]', p.items)).toBe('["a",{"id":1},{"id":2}]');
    expect(appendToJsonArray('["a"]', [])).toBe('["a"]');
    expect(appendToJsonArray(undefined, [])).toBe("[]");
  });
});

describe("incremented", () => {
  it("counts a missing key as 0 and keeps to safe integers", () => {
    expect(incremented("incr", "k", undefined, 1)).toBe(1);
    expect(incremented("incr", "k", 5, -7)).toBe(-2);
    const code = (current: unknown, amount: number) => {
      try {
        incremented("incr", "k", current, amount);
      } catch (e) {
        return isKVError(e) ? e.code : "other";
      }
      return "ok";
    };
    expect(code(1.5, 1)).toBe("KV_WRONG_TYPE");
    expect(code("3", 1)).toBe("KV_WRONG_TYPE");
    expect(code(null, 1)).toBe("KV_WRONG_TYPE");
    expect(code(Number.MAX_SAFE_INTEGER, 1)).toBe("KV_INVALID_ARGUMENT");
    expect(code(Number.MIN_SAFE_INTEGER, -1)).toBe("KV_INVALID_ARGUMENT");
    expect(code(Number.MAX_SAFE_INTEGER - 1, 1)).toBe("ok");
  });
});

describe("planListAppend", () => {
  const plan = (stored: string | undefined, items: object[], max = 100) =>
    planListAppend(
      "listAppendUnique",
      "k",
      stored,
      prepareListAppend("listAppendUnique", items, undefined),
      max,
    );

  it("gives the text to store and the list to return", () => {
    expect(plan(undefined, [{ id: 1 }])).toEqual({
      list: [{ id: 1 }],
      text: '[{"id":1}]',
      added: 1,
    });
    expect(plan('[{"id":1}]', [{ id: 1 }, { id: 2 }])).toEqual({
      list: [{ id: 1 }, { id: 2 }],
      text: '[{"id":1},{"id":2}]',
      added: 1,
    });
  });

  it("stores nothing for an empty call on a missing key, and leaves a list alone when nothing is new", () => {
    expect(plan(undefined, [])).toEqual({ list: [], text: undefined, added: 0 });
    // A stored list is not re-checked against the size limit when nothing is appended.
    expect(plan('[{"id":1}]', [{ id: 1 }], 5)).toEqual({
      list: [{ id: 1 }],
      text: '[{"id":1}]',
      added: 0,
    });
  });

  it("fails on a stored non-array and on a result over the limit", () => {
    expect(() => plan('{"id":1}', [{ id: 2 }])).toThrow(
      /listAppendUnique: the value at "k" is not a list/,
    );
    expect(() => plan("[]", [{ id: 1, pad: "x".repeat(100) }])).toThrow(/over maxValueBytes/);
  });
});
