import type { KVBackend } from "../types.js";
import { expect } from "./assert.js";
import { bad, expectRejectedUnchanged, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/** Not keys: empty, not a string, or not well-formed (a lone surrogate, high or low). */
export const INVALID_KEYS: readonly unknown[] = [
  "",
  42,
  undefined,
  null,
  true,
  {},
  ["a"],
  Symbol("k"),
  "\uD800",
  "a\uDC00b",
  "tail\uD83D",
];

/** Ordinary keys, however much they look like something else. */
export const ODD_KEYS: readonly string[] = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "*",
  "?",
  "[a]",
  "a*",
  "a:b:c",
  " ",
  "  padded  ",
  "a b",
  "tab\there",
  "line\nbreak",
  "nul\u0000inside",
  "%",
  "_",
  "\\",
  "{tag}",
  "é",
  "😀",
  "日本語",
  "\uFFFF",
  "k".repeat(1000),
];

interface KeyedCall {
  name: string;
  method: string;
  call: (kv: KVBackend, key: string) => Promise<unknown>;
  /** A record turns any non-string key into a string one, so it can only be given strings. */
  stringKeysOnly?: boolean;
}

/** Every method that takes a key, called on `key` with otherwise valid arguments. */
const KEYED_CALLS: readonly KeyedCall[] = [
  { name: "get", method: "get", call: (kv, key) => kv.get(key) },
  { name: "set", method: "set", call: (kv, key) => kv.set(key, "v") },
  { name: "delete", method: "delete", call: (kv, key) => kv.delete(key) },
  {
    name: "listAppendUnique",
    method: "listAppendUnique",
    call: (kv, key) => kv.listAppendUnique(key, [{ id: 1 }]),
  },
  { name: "listPopAll", method: "listPopAll", call: (kv, key) => kv.listPopAll(key) },
  { name: "expire", method: "expire", call: (kv, key) => kv.expire(key, 10) },
  { name: "exists", method: "exists", call: (kv, key) => kv.exists(key) },
  { name: "ttl", method: "ttl", call: (kv, key) => kv.ttl(key) },
  { name: "incr", method: "incr", call: (kv, key) => kv.incr(key) },
  // Batches: the bad key comes after a good one, so a backend that writes as it goes shows.
  { name: "mget", method: "mget", call: (kv, key) => kv.mget(["seed", key]) },
  {
    name: "mset (record)",
    method: "mset",
    call: (kv, key) => kv.mset({ fresh: 1, [key]: 2 }),
    stringKeysOnly: true,
  },
  {
    name: "mset (pairs)",
    method: "mset",
    call: (kv, key) =>
      kv.mset([
        ["fresh", 1],
        [key, 2],
      ]),
  },
  {
    name: "mset (Map)",
    method: "mset",
    call: (kv, key) =>
      kv.mset(
        new Map([
          ["fresh", 1],
          [key, 2],
        ]),
      ),
  },
];

export function defineKeyTests(suite: Suite): void {
  const { describe, it } = suite.t;
  // SPEC "Keys": "A key is a non-empty, well-formed Unicode string (key.isWellFormed())".
  describe("keys", "Keys", () => {
    const h = useHarness(suite);

    for (const { name, method, call, stringKeysOnly } of KEYED_CALLS) {
      it(`${name} rejects every invalid key with KV_INVALID_ARGUMENT and changes nothing`, async () => {
        const kv = h.kv;
        await kv.set("seed", { kept: true });
        for (const key of INVALID_KEYS) {
          if (stringKeysOnly && typeof key !== "string") continue;
          await expectRejectedUnchanged(
            h,
            kv,
            () => call(kv, bad(key)),
            "KV_INVALID_ARGUMENT",
            method,
            // Single-key methods name the argument; batches may point into the batch.
            method === "mget" || method === "mset" ? undefined : /key/,
            `${name} with key ${show(key)}`,
          );
        }
      });
    }

    // SPEC "Keys": "Anything else is accepted as an ordinary key: "__proto__", "constructor",
    // "*", "[a]", "a:b:c", spaces, emoji."
    it("accepts odd keys as ordinary keys through set/get/exists/ttl/delete", async () => {
      const kv = h.kv;
      for (const [i, key] of ODD_KEYS.entries()) {
        await kv.set(key, { i });
      }
      for (const [i, key] of ODD_KEYS.entries()) {
        expect(await kv.get(key), `get(${show(key)})`).toEqual({ i });
        expect(await kv.exists(key), `exists(${show(key)})`).toBe(true);
        expect(await kv.ttl(key), `ttl(${show(key)})`).toBe(Number.POSITIVE_INFINITY);
      }
      expect(await kv.mget([...ODD_KEYS]), "mget of every odd key").toEqual(
        ODD_KEYS.map((_, i) => ({ i })),
      );
      expect(await kv.scanPrefix(""), "scanPrefix('') lists every odd key").toEqual(
        [...ODD_KEYS].sort(),
      );
      for (const key of ODD_KEYS) {
        expect(await kv.delete(key), `delete(${show(key)})`).toBe(true);
      }
      expect(await kv.scanPrefix(""), "every odd key deleted").toEqual([]);
    });

    it("accepts odd keys in mset records, Maps and pairs, and in scanPrefix", async () => {
      const kv = h.kv;
      // A literal {"__proto__": 1} sets the prototype; JSON.parse makes it an own key.
      const record = JSON.parse('{"__proto__": 1, "constructor": 2, "toString": 3}');
      await kv.mset(record);
      expect(await kv.mget(["__proto__", "constructor", "toString"]), "mset(record)").toEqual([
        1, 2, 3,
      ]);
      await kv.mset(new Map(ODD_KEYS.map((key) => [key, `map:${key}`])));
      expect(await kv.mget([...ODD_KEYS]), "mset(Map)").toEqual(ODD_KEYS.map((k) => `map:${k}`));
      await kv.mset(ODD_KEYS.map((key) => [key, `pair:${key}`] as const));
      expect(await kv.mget([...ODD_KEYS]), "mset(pairs)").toEqual(ODD_KEYS.map((k) => `pair:${k}`));
      for (const key of ODD_KEYS) {
        const found = await kv.scanPrefix(key);
        expect(found, `scanPrefix(${show(key)}) finds the key itself`).toContain(key);
        for (const other of found) {
          expect(other.startsWith(key), `scanPrefix(${show(key)}) returned ${show(other)}`).toBe(
            true,
          );
        }
      }
    });

    it("accepts odd keys for lists and counters", async () => {
      const kv = h.kv;
      for (const key of ODD_KEYS) {
        expect(
          await kv.listAppendUnique(key, [{ id: key }]),
          `listAppendUnique(${show(key)})`,
        ).toEqual([{ id: key }]);
        expect(await kv.listPopAll(key), `listPopAll(${show(key)})`).toEqual([{ id: key }]);
        expect(await kv.incr(key, 2), `incr(${show(key)})`).toBe(2);
        expect(await kv.expire(key, 100), `expire(${show(key)})`).toBe(true);
      }
    });

    // SPEC "Keys": "A key is never interpreted as a pattern."
    it("never treats a key as a pattern", async () => {
      const kv = h.kv;
      await kv.mset({ ab: 1, aXb: 2, a: 3, "a\\b": 4 });
      for (const key of ["a*", "a?", "a[b]", "a[X]b", "*", "?", "a%", "a_", "a.b", "a\\*"]) {
        expect(await kv.get(key), `get(${show(key)})`).toBeUndefined();
        expect(await kv.exists(key), `exists(${show(key)})`).toBe(false);
        expect(await kv.ttl(key), `ttl(${show(key)})`).toBeUndefined();
        expect(await kv.delete(key), `delete(${show(key)})`).toBe(false);
        expect(await kv.expire(key, 10), `expire(${show(key)})`).toBe(false);
        expect(await kv.listPopAll(key), `listPopAll(${show(key)})`).toEqual([]);
      }
      expect(await kv.mget(["a*", "a?"]), "mget of pattern-like keys").toEqual([
        undefined,
        undefined,
      ]);
      await kv.set("*", "star");
      expect(await kv.delete("*"), "delete('*') removes the key '*'").toBe(true);
      expect(await kv.mget(["ab", "aXb", "a", "a\\b"]), "other keys untouched").toEqual([
        1, 2, 3, 4,
      ]);
    });
  });
}
