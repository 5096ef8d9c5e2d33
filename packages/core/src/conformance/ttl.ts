import type { KVBackend } from "../types.js";
import { expect } from "./assert.js";
import {
  bad,
  expectRejectedUnchanged,
  expectTtl,
  LONG_TTL,
  SHORT_TTL,
  show,
  useHarness,
} from "./harness.js";
import type { Suite } from "./suite.js";

/** Not TTLs: SPEC "TTL", "ttlSeconds must be a finite number > 0". */
const INVALID_TTLS: readonly unknown[] = [
  0,
  -0,
  -5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  "5",
  null,
  true,
  {},
  [1],
];

interface TtlCall {
  label: string;
  method: string;
  call: (kv: KVBackend, ttlSeconds: number) => Promise<unknown>;
}

/** Every method that takes a TTL, on existing keys and on new ones. */
const TTL_CALLS: readonly TtlCall[] = [
  {
    label: "set (existing key)",
    method: "set",
    call: (kv, s) => kv.set("k", "new", { ttlSeconds: s }),
  },
  { label: "set (new key)", method: "set", call: (kv, s) => kv.set("fresh", 1, { ttlSeconds: s }) },
  {
    label: "mset",
    method: "mset",
    call: (kv, s) => kv.mset({ fresh: 1, k: "new" }, { ttlSeconds: s }),
  },
  {
    label: "listAppendUnique (existing list)",
    method: "listAppendUnique",
    call: (kv, s) => kv.listAppendUnique("list", [{ id: 2 }], { ttlSeconds: s }),
  },
  {
    label: "listAppendUnique (new list)",
    method: "listAppendUnique",
    call: (kv, s) => kv.listAppendUnique("fresh", [{ id: 2 }], { ttlSeconds: s }),
  },
  {
    label: "incr (existing counter)",
    method: "incr",
    call: (kv, s) => kv.incr("n", 1, { ttlSeconds: s }),
  },
  {
    label: "incr (new counter)",
    method: "incr",
    call: (kv, s) => kv.incr("fresh", 1, { ttlSeconds: s }),
  },
  { label: "expire (key with a TTL)", method: "expire", call: (kv, s) => kv.expire("k", s) },
  { label: "expire (key without TTL)", method: "expire", call: (kv, s) => kv.expire("plain", s) },
  { label: "expire (missing key)", method: "expire", call: (kv, s) => kv.expire("fresh", s) },
];

export function defineTtlTests(suite: Suite): void {
  const { describe, it } = suite.t;
  describe("TTL", "TTL", () => {
    const h = useHarness(suite);

    // SPEC "TTL": "ttlSeconds must be a finite number > 0 [...] Anything else:
    // KV_INVALID_ARGUMENT" (and, SPEC "Concurrency", "A failed call has no effect").
    for (const { label, method, call } of TTL_CALLS) {
      it(`${label} rejects every invalid ttlSeconds and changes nothing`, async () => {
        const kv = h.kv;
        await kv.set("k", "old", { ttlSeconds: LONG_TTL });
        await kv.set("plain", "old");
        await kv.listAppendUnique("list", [{ id: 1 }], { ttlSeconds: LONG_TTL });
        await kv.incr("n", 5);
        const invalid = method === "expire" ? [...INVALID_TTLS, undefined] : INVALID_TTLS;
        for (const ttl of invalid) {
          await expectRejectedUnchanged(
            h,
            kv,
            () => call(kv, bad(ttl)),
            "KV_INVALID_ARGUMENT",
            method,
            /ttlSeconds/,
            `${label} with ttlSeconds ${show(ttl)}`,
          );
        }
      });
    }

    // SPEC "TTL": "An entry written at time t with TTL s has the deadline t + ms
    // and is expired from the instant now >= deadline." + "An expired entry is absent for
    // every operation: get gives the default, mget undefined, exists false, ttl undefined,
    // delete false, expire false, listPopAll [], scanPrefix leaves it out, listAppendUnique
    // starts a new list and incr starts from 0 (neither inherits the old TTL)."
    it("keeps an entry live until its deadline and absent for every operation from then on", async () => {
      const kv = h.kv;
      const short = { ttlSeconds: SHORT_TTL };
      await kv.set("get", "v", short);
      await kv.set("null", null, short);
      await kv.set("mget", "v", short);
      await kv.set("exists", "v", short);
      await kv.set("ttl", "v", short);
      await kv.set("delete", "v", short);
      await kv.set("expire", "v", short);
      await kv.set("pop", [{ id: 1 }], short);
      await kv.listAppendUnique("append", [{ id: "old" }], short);
      await kv.incr("incr", 41, short);
      await kv.mset({ "scan:a": 1, "scan:b": 2 }, short);
      await kv.set("scan:live", 3, { ttlSeconds: LONG_TTL });
      await kv.set("shortened", "v");
      expect(await kv.expire("shortened", SHORT_TTL), "expire of a live key").toBe(true);
      await kv.set("forever", "v");
      await kv.set("extended", "v", short);
      expect(await kv.expire("extended", LONG_TTL), "expire of a live key").toBe(true);
      // Touched 1 ms before the deadline (manual clock only).
      for (const key of ["delete:early", "pop:early", "expire:early", "incr:early"]) {
        await kv.set(key, key === "pop:early" ? [{ id: 1 }] : 1, short);
      }
      await kv.listAppendUnique("append:early", [{ id: "old" }], short);

      await h.passDeadline(SHORT_TTL, async () => {
        const at = "1 ms before the deadline";
        expect(await kv.get("get", "default"), `get ${at}`).toBe("v");
        expect(await kv.get("null", "default"), `get of a stored null ${at}`).toBeNull();
        expect(await kv.mget(["mget"]), `mget ${at}`).toEqual(["v"]);
        expect(await kv.exists("exists"), `exists ${at}`).toBe(true);
        expectTtl(h, await kv.ttl("ttl"), 0.001, `ttl ${at}`);
        expect(await kv.scanPrefix("scan:"), `scanPrefix ${at}`).toEqual([
          "scan:a",
          "scan:b",
          "scan:live",
        ]);
        expect(await kv.delete("delete:early"), `delete ${at}`).toBe(true);
        expect(await kv.listPopAll("pop:early"), `listPopAll ${at}`).toEqual([{ id: 1 }]);
        expect(await kv.expire("expire:early", LONG_TTL), `expire ${at}`).toBe(true);
        expect(await kv.incr("incr:early"), `incr ${at}`).toBe(2);
        expect(
          await kv.listAppendUnique("append:early", [{ id: "new" }]),
          `listAppendUnique ${at}`,
        ).toEqual([{ id: "old" }, { id: "new" }]);
      });

      const at = h.manual ? "at the deadline" : "after the deadline";
      expect(await kv.get("get", "default"), `get ${at} gives the default`).toBe("default");
      expect(await kv.get("get"), `get ${at}`).toBeUndefined();
      expect(await kv.get("null", "default"), `get of a stored null ${at}`).toBe("default");
      expect(await kv.mget(["mget", "forever"]), `mget ${at}`).toEqual([undefined, "v"]);
      expect(await kv.exists("exists"), `exists ${at}`).toBe(false);
      expect(await kv.ttl("ttl"), `ttl ${at}`).toBeUndefined();
      expect(await kv.delete("delete"), `delete ${at}`).toBe(false);
      expect(await kv.expire("expire", LONG_TTL), `expire ${at}`).toBe(false);
      expect(await kv.exists("expire"), `expire ${at} must not revive the key`).toBe(false);
      expect(await kv.listPopAll("pop"), `listPopAll ${at}`).toEqual([]);
      expect(await kv.exists("shortened"), `a key given a short TTL by expire, ${at}`).toBe(false);
      expect(await kv.get("extended"), `a key given a long TTL by expire, ${at}`).toBe("v");
      expect(await kv.scanPrefix("scan:"), `scanPrefix ${at}`).toEqual(["scan:live"]);
      const live = ["extended", "forever", "scan:live"];
      if (h.manual) {
        // In place, without ttlSeconds: the TTL they had is kept, so they expire on time.
        expect(await kv.exists("incr:early"), "incr without ttlSeconds kept the TTL").toBe(false);
        expect(await kv.exists("append:early"), "listAppendUnique kept the TTL").toBe(false);
        expectTtl(h, await kv.ttl("expire:early"), LONG_TTL - 0.001, "expire counted from now");
        live.unshift("expire:early");
      }
      expect(await kv.scanPrefix(""), `scanPrefix('') ${at} lists only live keys`).toEqual(live);

      expect(
        await kv.listAppendUnique("append", [{ id: "new" }]),
        `listAppendUnique ${at} starts a new list`,
      ).toEqual([{ id: "new" }]);
      expect(await kv.ttl("append"), "the new list does not inherit the old TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
      expect(await kv.incr("incr", 1), `incr ${at} starts from 0`).toBe(1);
      expect(await kv.ttl("incr"), "the new counter does not inherit the old TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
    });

    // SPEC "TTL": "fractional seconds are allowed and are rounded up to whole milliseconds".
    it("rounds fractional TTLs up to whole milliseconds, for every writer", async () => {
      const kv = h.kv;
      if (!h.manual) {
        // Real time: only what a moving clock cannot blur.
        await kv.set("k", 1, { ttlSeconds: LONG_TTL + 0.0005 });
        const left = (await kv.ttl("k")) as number;
        expectTtl(h, left, LONG_TTL + 0.001, "ttl() after a fractional TTL");
        expect(
          Math.abs(left * 1000 - Math.round(left * 1000)),
          `ttl() has millisecond precision (got ${left})`,
        ).toBeLessThan(1e-6);
        return;
      }
      const s = 0.0015; // 1.5 ms -> 2 ms
      await kv.set("set", 1, { ttlSeconds: s });
      await kv.mset({ mset: 1 }, { ttlSeconds: s });
      await kv.listAppendUnique("append", [{ id: 1 }], { ttlSeconds: s });
      await kv.incr("incr", 1, { ttlSeconds: s });
      await kv.set("expire", 1);
      await kv.expire("expire", s);
      await kv.set("tiny", 1, { ttlSeconds: 0.0001 }); // 0.1 ms -> 1 ms, never 0
      await kv.set("whole", 1, { ttlSeconds: 2.5 }); // exactly 2500 ms
      // SPEC v2: ceil(s*1000 - 1e-6) forgives binary rounding: 2.007 * 1000 is
      // 2007.0000000000002 in binary, and 2.007 s is 2007 ms, not 2008.
      await kv.set("decimal", 1, { ttlSeconds: 1.1 });
      await kv.set("binary", 1, { ttlSeconds: 2.007 });
      const keys = ["set", "mset", "append", "incr", "expire"];
      for (const key of keys)
        expectTtl(h, await kv.ttl(key), 0.002, `ttl(${key}) with ttl 0.0015 s`);
      expectTtl(h, await kv.ttl("tiny"), 0.001, "ttl 0.0001 s rounds up to 1 ms");
      expect(await kv.exists("tiny"), "a 0.0001 s TTL is live when written").toBe(true);
      await h.later(1);
      expect(await kv.exists("tiny"), "a 0.0001 s TTL is gone after 1 ms").toBe(false);
      for (const key of keys) {
        expect(await kv.exists(key), `${key} with ttl 0.0015 s is live after 1 ms`).toBe(true);
      }
      await h.later(1);
      for (const key of keys) {
        expect(await kv.exists(key), `${key} with ttl 0.0015 s is gone after 2 ms`).toBe(false);
      }
      await h.later(1097);
      expect(await kv.exists("decimal"), "ttl 1.1 s, 1 ms before 1100 ms").toBe(true);
      await h.later(1);
      expect(await kv.exists("decimal"), "ttl 1.1 s at 1100 ms").toBe(false);
      await h.later(906);
      expect(await kv.exists("binary"), "ttl 2.007 s, 1 ms before 2007 ms").toBe(true);
      await h.later(1);
      expect(await kv.exists("binary"), "ttl 2.007 s at 2007 ms (not 2008: SPEC v2 rounding)").toBe(
        false,
      );
      await h.later(492);
      expect(await kv.exists("whole"), "ttl 2.5 s, 1 ms before").toBe(true);
      await h.later(1);
      expect(await kv.exists("whole"), "ttl 2.5 s, at the deadline").toBe(false);
    });

    // SPEC "ttl(key): seconds left as a number (millisecond precision), Infinity for a live
    // key without TTL, undefined for a missing or expired key."
    it("reports seconds left with ttl(), Infinity without TTL, undefined when missing", async () => {
      const kv = h.kv;
      await kv.set("k", 1, { ttlSeconds: 100 });
      await kv.set("plain", 1);
      expectTtl(h, await kv.ttl("k"), 100, "ttl right after set");
      expect(await kv.ttl("plain"), "ttl of a key without TTL").toBe(Number.POSITIVE_INFINITY);
      expect(await kv.ttl("missing"), "ttl of a missing key").toBeUndefined();
      if (h.manual) {
        await h.later(2500);
        expectTtl(h, await kv.ttl("k"), 97.5, "ttl after 2.5 s");
        await h.later(1);
        expectTtl(h, await kv.ttl("k"), 97.499, "ttl after 2.501 s");
      }
      const left = (await kv.ttl("k")) as number;
      expect(
        Math.abs(left * 1000 - Math.round(left * 1000)),
        `ttl() has millisecond precision (got ${left})`,
      ).toBeLessThan(1e-6);
    });

    // SPEC "TTL": "ttlSeconds must be a finite number > 0": any of them, however large.
    // Timers clamp delays over 2^31 - 1 ms (24.8 days) to 1 ms, and 1e308 * 1000 overflows
    // to Infinity, which would read back as "no TTL".
    it("keeps long TTLs: 30 days, 1e7 s, 1e12 s, and a huge one as a finite TTL", async () => {
      const kv = h.kv;
      const month = 30 * 24 * 3600;
      await kv.set("month", 1, { ttlSeconds: month });
      await kv.set("e7", 1, { ttlSeconds: 1e7 });
      await kv.set("e12", 1, { ttlSeconds: 1e12 });
      await kv.set("huge", 1, { ttlSeconds: 1e308 });
      await h.later(50);
      for (const [key, s] of [
        ["month", month],
        ["e7", 1e7],
        ["e12", 1e12],
      ] as const) {
        expect(await kv.get(key), `${key} is live after 50 ms`).toBe(1);
        const left = (await kv.ttl(key)) as number;
        expect(left, `ttl(${key})`).toBeLessThanOrEqual(s);
        expect(left, `ttl(${key})`).toBeGreaterThan(s - 60);
      }
      expect(await kv.get("huge"), "a key with ttlSeconds 1e308 is live").toBe(1);
      const huge = (await kv.ttl("huge")) as number;
      expect(
        Number.isFinite(huge) && huge > 1e12,
        `ttl of 1e308 is a finite TTL (got ${huge})`,
      ).toBe(true);
    });

    // SPEC "TTL": "Operations that replace a value (set, mset) give it the TTL passed, or
    // none: a set without ttlSeconds clears an earlier TTL."
    it("set gives the TTL passed or none, replacing an earlier one", async () => {
      const kv = h.kv;
      await kv.set("k", 1, { ttlSeconds: 100 });
      await kv.set("k", 2);
      expect(await kv.ttl("k"), "set without ttlSeconds clears the TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
      await kv.set("k", 3, { ttlSeconds: 300 });
      expectTtl(h, await kv.ttl("k"), 300, "set with a TTL on a key without one");
      await kv.set("k", 4, { ttlSeconds: 50 });
      expectTtl(h, await kv.ttl("k"), 50, "set with a shorter TTL replaces a longer one");
      await kv.set("cleared", 1, { ttlSeconds: 100 });
      await kv.set("cleared", 2);
      if (h.manual) {
        await h.passDeadline(50, async () => {
          expect(await kv.get("k"), "1 ms before the replaced deadline").toBe(4);
        });
        expect(await kv.get("k"), "at the replaced deadline").toBeUndefined();
        await h.later(100_000);
        expect(await kv.get("cleared"), "a cleared TTL does not expire the key").toBe(2);
      }
    });

    it("mset gives every entry the shared TTL, or none", async () => {
      const kv = h.kv;
      await kv.set("a", 0, { ttlSeconds: 100 });
      await kv.set("b", 0);
      await kv.mset({ a: 1, b: 1, c: 1 }, { ttlSeconds: 200 });
      for (const key of ["a", "b", "c"]) {
        expectTtl(h, await kv.ttl(key), 200, `ttl(${key}) after mset with ttlSeconds 200`);
      }
      await kv.mset([
        ["a", 2],
        ["c", 2],
      ]);
      expect(await kv.ttl("a"), "mset without ttlSeconds clears the TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
      expect(await kv.ttl("c"), "mset without ttlSeconds clears the TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
      expectTtl(h, await kv.ttl("b"), 200, "a key the second mset did not name");
      if (h.manual) {
        await h.passDeadline(200, async () => {
          expect(await kv.mget(["a", "b", "c"]), "1 ms before the shared deadline").toEqual([
            2, 1, 2,
          ]);
        });
        expect(await kv.mget(["a", "b", "c"]), "at the shared deadline").toEqual([2, undefined, 2]);
      }
    });

    // SPEC "TTL": "Operations that change a value in place (listAppendUnique, incr) set the
    // TTL when ttlSeconds is passed and otherwise keep the TTL the key already had."
    it("listAppendUnique keeps the list's TTL, or sets the one passed", async () => {
      const kv = h.kv;
      await kv.listAppendUnique("l", [{ id: 1 }], { ttlSeconds: 100 });
      expectTtl(h, await kv.ttl("l"), 100, "a new list with ttlSeconds");
      await h.later(h.manual ? 40_000 : 0);
      const kept = h.manual ? 60 : 100;
      await kv.listAppendUnique("l", [{ id: 2 }]);
      expectTtl(h, await kv.ttl("l"), kept, "append without ttlSeconds keeps the TTL");
      await kv.listAppendUnique("l", [{ id: 1 }]);
      expectTtl(h, await kv.ttl("l"), kept, "append of a duplicate keeps the TTL");
      await kv.listAppendUnique("l", []);
      expectTtl(h, await kv.ttl("l"), kept, "empty append keeps the TTL");
      await kv.listAppendUnique("l", [{ id: 3 }], { ttlSeconds: 200 });
      expectTtl(h, await kv.ttl("l"), 200, "append with ttlSeconds sets the TTL");
      await kv.listAppendUnique("l", [{ id: 3 }], { ttlSeconds: 300 });
      expectTtl(h, await kv.ttl("l"), 300, "ttlSeconds sets the TTL even if nothing is added");
      await kv.listAppendUnique("l", [], { ttlSeconds: 250 });
      expectTtl(h, await kv.ttl("l"), 250, "ttlSeconds sets the TTL of an empty append");

      await kv.set("set-list", [], { ttlSeconds: 100 });
      await kv.listAppendUnique("set-list", [{ id: 1 }]);
      expectTtl(h, await kv.ttl("set-list"), 100, "a list written by set keeps its TTL");
      await kv.listAppendUnique("plain", [{ id: 1 }]);
      expect(await kv.ttl("plain"), "a new list without ttlSeconds has no TTL").toBe(
        Number.POSITIVE_INFINITY,
      );
      await kv.listAppendUnique("plain", [{ id: 2 }]);
      expect(await kv.ttl("plain"), "append keeps 'no TTL'").toBe(Number.POSITIVE_INFINITY);
      await kv.listAppendUnique("plain", [{ id: 3 }], { ttlSeconds: 50 });
      expectTtl(h, await kv.ttl("plain"), 50, "append with ttlSeconds gives a TTL");
      await kv.listAppendUnique("empty", [], { ttlSeconds: 50 });
      expect(await kv.exists("empty"), "an empty append on a missing key stores nothing").toBe(
        false,
      );

      if (h.manual) {
        await h.passDeadline(50, async () => {
          expect(await kv.get("plain"), "1 ms before the deadline").toEqual([
            { id: 1 },
            { id: 2 },
            { id: 3 },
          ]);
        });
        expect(await kv.exists("plain"), "at the deadline set by listAppendUnique").toBe(false);
      }
    });

    it("incr keeps the counter's TTL, or sets the one passed", async () => {
      const kv = h.kv;
      expect(await kv.incr("n", 1, { ttlSeconds: 100 }), "incr of a new counter").toBe(1);
      expectTtl(h, await kv.ttl("n"), 100, "a new counter with ttlSeconds");
      await h.later(h.manual ? 40_000 : 0);
      const kept = h.manual ? 60 : 100;
      expect(await kv.incr("n"), "incr").toBe(2);
      expectTtl(h, await kv.ttl("n"), kept, "incr without ttlSeconds keeps the TTL");
      expect(await kv.incr("n", 1, { ttlSeconds: 200 }), "incr with ttlSeconds").toBe(3);
      expectTtl(h, await kv.ttl("n"), 200, "incr with ttlSeconds sets the TTL");
      await kv.set("set-n", 10, { ttlSeconds: 100 });
      await kv.incr("set-n", -1);
      expectTtl(h, await kv.ttl("set-n"), 100, "a number written by set keeps its TTL");
      await kv.set("plain", 5);
      await kv.incr("plain");
      expect(await kv.ttl("plain"), "incr keeps 'no TTL'").toBe(Number.POSITIVE_INFINITY);
      await kv.incr("plain", 1, { ttlSeconds: 50 });
      expectTtl(h, await kv.ttl("plain"), 50, "incr with ttlSeconds gives a TTL");
      if (h.manual) {
        await h.passDeadline(50, async () => {
          expect(await kv.get("plain"), "1 ms before the deadline").toBe(7);
        });
        expect(await kv.exists("plain"), "at the deadline set by incr").toBe(false);
      }
    });

    // SPEC "TTL": "expire gives a live key a new TTL counted from now."
    it("expire gives a live key a new TTL counted from now, and nothing to a missing one", async () => {
      const kv = h.kv;
      await kv.set("k", 1, { ttlSeconds: 100 });
      await h.later(h.manual ? 40_000 : 0);
      expect(await kv.expire("k", 100), "expire of a live key").toBe(true);
      expectTtl(h, await kv.ttl("k"), 100, "expire counts from now, not from the write");
      await kv.set("plain", 1);
      expect(await kv.expire("plain", 50), "expire of a key without TTL").toBe(true);
      expectTtl(h, await kv.ttl("plain"), 50, "expire gives a TTL");
      expect(await kv.get("plain"), "expire keeps the value").toBe(1);
      await kv.set("list", [{ id: 1 }]);
      expect(await kv.expire("list", 50), "expire of a list").toBe(true);
      expect(await kv.get("list"), "expire keeps the list").toEqual([{ id: 1 }]);
      expect(await kv.expire("missing", 10), "expire of a missing key").toBe(false);
      expect(await kv.exists("missing"), "expire does not create a key").toBe(false);
      if (h.manual) {
        // The old deadline (60 s from now) passes; the new one (100 s from now) holds.
        await h.passDeadline(100, async () => {
          expect(await kv.get("k"), "past the old deadline, 1 ms before the new one").toBe(1);
        });
        expect(await kv.exists("k"), "at the deadline expire set").toBe(false);
      }
    });
  });
}
