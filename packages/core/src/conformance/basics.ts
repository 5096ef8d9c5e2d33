import type { JsonValue } from "../types.js";
import { expect } from "./assert.js";
import { LONG_TTL, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/** Values of every JSON type, falsy ones included: none of them may read as "missing". */
const ANY_VALUES: ReadonlyArray<[string, JsonValue]> = [
  ["null", null],
  ["false", false],
  ["0", 0],
  ["''", ""],
  ["[]", []],
  ["{}", {}],
  ["a string", "s"],
  ["a list", [{ id: 1 }]],
];

export function defineBasicTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("get/set/delete/exists", "The rest", () => {
    const h = useHarness(suite);

    // SPEC "The interface": set and mset are Promise<void>: whatever the engine's own
    // reply was ("OK", a script's answer), the caller gets undefined.
    it("set and mset resolve to undefined", async () => {
      const kv = h.kv;
      expect(await kv.set("k", 1), "set").toBeUndefined();
      expect(await kv.set("k", 2, { ttlSeconds: LONG_TTL }), "set with a TTL").toBeUndefined();
      expect(await kv.mset({ a: 1, b: 2 }), "mset").toBeUndefined();
      expect(await kv.mset({ a: 1 }, { ttlSeconds: LONG_TTL }), "mset with a TTL").toBeUndefined();
    });

    // SPEC "The rest": "delete(key): removes the key; true if a live key was removed."
    it("delete removes the key and returns true only if a live key was removed", async () => {
      const kv = h.kv;
      for (const [label, value] of ANY_VALUES) {
        await kv.set("k", value, { ttlSeconds: LONG_TTL });
        expect(await kv.delete("k"), `delete of ${label}`).toBe(true);
        expect(await kv.exists("k"), `exists after deleting ${label}`).toBe(false);
        expect(await kv.get("k", "default"), `get after deleting ${label}`).toBe("default");
        expect(await kv.ttl("k"), `ttl after deleting ${label}`).toBeUndefined();
        expect(await kv.delete("k"), `a second delete of ${label}`).toBe(false);
      }
      expect(await kv.delete("never"), "delete of a key never written").toBe(false);
      await kv.mset({ a: 1, b: 2 });
      expect(await kv.delete("a"), "delete of one key").toBe(true);
      expect(await kv.mget(["a", "b"]), "delete removes only its key").toEqual([undefined, 2]);
      await kv.set("a", "again");
      expect(await kv.get("a"), "a deleted key can be written again").toBe("again");
      expect(await kv.ttl("a"), "and starts without TTL").toBe(Number.POSITIVE_INFINITY);
    });

    // SPEC "The rest": "exists(key): true for a live key."
    it("exists is true for a live key of any value, false for a missing one", async () => {
      const kv = h.kv;
      for (const [i, [label, value]] of ANY_VALUES.entries()) {
        await kv.set(`k${i}`, value);
        expect(await kv.exists(`k${i}`), `exists of ${label}`).toBe(true);
        expect(await kv.get(`k${i}`, "default"), `get of ${label}`).toEqual(value);
      }
      expect(await kv.exists("missing"), "exists of a missing key").toBe(false);
      expect(await kv.exists("k"), "exists of a prefix of stored keys").toBe(false);
    });

    it("set replaces a value of any type with a value of any type", async () => {
      const kv = h.kv;
      for (const [from, before] of ANY_VALUES) {
        for (const [to, after] of ANY_VALUES) {
          await kv.set("k", before);
          await kv.set("k", after);
          expect(await kv.get("k", "default"), `set ${from} then ${to}: ${show(after)}`).toEqual(
            after,
          );
        }
      }
    });
  });
}
