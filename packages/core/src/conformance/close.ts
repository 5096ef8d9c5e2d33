import type { KVBackend } from "../types.js";
import { expectResolves } from "./assert.js";
import { expectRejection, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/** Every operation of the contract with valid arguments, by method name. */
const EVERY_CALL: ReadonlyArray<[string, (kv: KVBackend) => Promise<unknown>]> = [
  ["get", (kv) => kv.get("k")],
  ["set", (kv) => kv.set("k", 1)],
  ["delete", (kv) => kv.delete("k")],
  ["listAppendUnique", (kv) => kv.listAppendUnique("list", [{ id: 1 }])],
  ["listPopAll", (kv) => kv.listPopAll("list")],
  ["mget", (kv) => kv.mget(["k"])],
  ["mset", (kv) => kv.mset({ k: 1 })],
  ["expire", (kv) => kv.expire("k", 10)],
  ["purgeExpired", (kv) => kv.purgeExpired()],
  ["exists", (kv) => kv.exists("k")],
  ["ttl", (kv) => kv.ttl("k")],
  ["incr", (kv) => kv.incr("n")],
  ["scanPrefix", (kv) => kv.scanPrefix("")],
];

export function defineCloseTests(suite: Suite): void {
  const { describe, it } = suite.t;
  // SPEC "The rest": "close(): releases timers and connections; idempotent. Every operation
  // after it rejects with KV_CLOSED." (That a backend built on a client the caller passed
  // in leaves that client open is backend-specific: each backend tests it itself.)
  describe("close", "The rest", () => {
    const h = useHarness(suite);

    it("is idempotent", async () => {
      const kv = h.kv;
      await kv.set("k", 1);
      await expectResolves(kv.close(), undefined, "the first close()");
      await expectResolves(kv.close(), undefined, "a second close()");
      await expectResolves(
        Promise.all([kv.close(), kv.close()]),
        [undefined, undefined],
        "two concurrent close()s",
      );
    });

    it("makes every operation reject with KV_CLOSED", async () => {
      const kv = h.kv;
      await kv.set("k", 1);
      await kv.listAppendUnique("list", [{ id: 1 }]);
      await kv.close();
      for (const [method, call] of EVERY_CALL) {
        await expectRejection(
          () => call(kv),
          "KV_CLOSED",
          method,
          undefined,
          `${method} after close`,
        );
      }
      await kv.close();
      await expectRejection(
        () => kv.get("k"),
        "KV_CLOSED",
        "get",
        undefined,
        "get after a second close",
      );
    });
  });
}
