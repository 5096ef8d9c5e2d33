import { isKVError, type KVErrorCode } from "../errors.js";
import { expect } from "./assert.js";
import { bad, expectRejection, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

const CODES: readonly KVErrorCode[] = [
  "KV_INVALID_ARGUMENT",
  "KV_WRONG_TYPE",
  "KV_VALUE_TOO_LARGE",
  "KV_UNAVAILABLE",
  "KV_CLOSED",
];

export function defineErrorTests(suite: Suite): void {
  const { describe, it } = suite.t;
  // SPEC "Errors": "Every error the library throws is a KVError with a string code [...]
  // Messages name the method, the argument and what was expected, e.g. set: ttlSeconds
  // must be a finite number > 0 (got -5)." Every rejection elsewhere in the suite goes
  // through the same checks of code, class and method name; here the shape is pinned
  // once per code. KV_UNAVAILABLE needs a server to take down: remote backends test it
  // themselves.
  describe("errors", "Errors", () => {
    const h = useHarness(suite);

    it("are KVErrors whose code isKVError recognises and whose message names method and argument", async () => {
      const kv = h.kv;
      await kv.set("text", "not a list");
      const tooBig = await h.open({ maxValueBytes: 16 });
      const closed = await h.open();
      await closed.close();
      const cases: Array<[KVErrorCode, string, RegExp, () => Promise<unknown>]> = [
        [
          "KV_INVALID_ARGUMENT",
          "set",
          /^set: .*ttlSeconds.*-5/,
          () => kv.set("k", 1, { ttlSeconds: -5 }),
        ],
        ["KV_INVALID_ARGUMENT", "get", /^get: .*key/, () => kv.get("")],
        ["KV_INVALID_ARGUMENT", "incr", /^incr: .*amount.*1\.5/, () => kv.incr("n", 1.5)],
        [
          "KV_INVALID_ARGUMENT",
          "scanPrefix",
          /^scanPrefix: .*limit/,
          () => kv.scanPrefix("", { limit: 0 }),
        ],
        ["KV_INVALID_ARGUMENT", "set", /^set: .*value/, () => kv.set("k", bad(undefined))],
        [
          "KV_WRONG_TYPE",
          "listAppendUnique",
          /^listAppendUnique: /,
          () => kv.listAppendUnique("text", [{ id: 1 }]),
        ],
        ["KV_WRONG_TYPE", "incr", /^incr: /, () => kv.incr("text")],
        [
          "KV_VALUE_TOO_LARGE",
          "set",
          /^set: .*(maxValueBytes|\b16\b)/,
          () => tooBig.set("k", "x".repeat(40)),
        ],
        ["KV_CLOSED", "get", /^get: /, () => closed.get("k")],
      ];
      for (const [code, method, message, call] of cases) {
        const err = await expectRejection(call, code, method, message, `${method} (${code})`);
        expect(isKVError(err, code), `isKVError(err, "${code}")`).toBe(true);
        for (const other of CODES) {
          if (other !== code) {
            expect(isKVError(err, other), `isKVError(err, "${other}") of a ${code}`).toBe(false);
          }
        }
        expect(typeof err.stack, `${method}: the error has a stack`).toBe("string");
      }
      expect(await kv.get("text"), "no failed call changed anything").toBe("not a list");
      expect(await kv.scanPrefix(""), "no failed call wrote anything").toEqual(["text"]);
    });
  });
}
