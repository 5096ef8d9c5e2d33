import type { KVBackend } from "../types.js";
import { expect } from "./assert.js";
import { bad, expectRejection, LONG_TTL, SHORT_TTL, show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/**
 * Expects a `purgeExpired` result: exactly `exact` when the backend counts exactly, else
 * any count in 0..max.
 */
function expectPurged(
  exactPurge: boolean,
  removed: number,
  exact: number,
  max: number,
  label: string,
): void {
  expect(Number.isSafeInteger(removed), `${label}: an integer count (got ${show(removed)})`).toBe(
    true,
  );
  if (exactPurge) {
    expect(
      removed,
      `${label}: the exact count of expired entries (capabilities.purge "exact")`,
    ).toBe(exact);
  } else {
    expect(removed, `${label}: at least 0`).toBeGreaterThanOrEqual(0);
    expect(removed, `${label}: at most the limit`).toBeLessThanOrEqual(max);
  }
}

/** Live entries, each of a kind a stale expiry index could wrongly purge. */
async function writeLiveEntries(kv: KVBackend): Promise<Record<string, unknown>> {
  await kv.set("live:plain", "plain");
  await kv.set("live:long", "long", { ttlSeconds: LONG_TTL });
  await kv.listAppendUnique("live:list", [{ id: 1 }], { ttlSeconds: LONG_TTL });
  // A short TTL replaced by a write without one, or moved later by expire.
  await kv.set("live:overwritten", "overwritten", { ttlSeconds: SHORT_TTL });
  await kv.set("live:overwritten", "overwritten");
  await kv.set("live:extended", "extended", { ttlSeconds: SHORT_TTL });
  await kv.expire("live:extended", LONG_TTL);
  await kv.mset({ "live:mset": "mset" }, { ttlSeconds: SHORT_TTL });
  await kv.mset({ "live:mset": "mset" });
  return {
    "live:extended": "extended",
    "live:list": [{ id: 1 }],
    "live:long": "long",
    "live:mset": "mset",
    "live:overwritten": "overwritten",
    "live:plain": "plain",
  };
}

export function definePurgeTests(suite: Suite): void {
  const { describe, it } = suite.t;
  const exactPurge = suite.caps.purge === "exact";

  // No test here reads an expired key before it counts a purge: a backend may drop an
  // expired entry an operation touches (SPEC "The rest", lazy expiry), and then that
  // entry is rightly not counted. The last test checks the touched ones on their own.
  describe("purgeExpired", "The rest", () => {
    const h = useHarness(suite);

    // SPEC "The rest": "purgeExpired(limit = 1000): limit is a positive integer (else
    // KV_INVALID_ARGUMENT)."
    it("rejects a limit that is not a positive integer, removing nothing", async () => {
      const kv = h.kv;
      await kv.set("live", 1);
      await kv.mset({ e1: 1, e2: 2, e3: 3 }, { ttlSeconds: SHORT_TTL });
      // Only an exact count can show what a rejected call removed: spare real time the sleep.
      if (h.manual || exactPurge) await h.passDeadline(SHORT_TTL);
      const invalid = [0, -1, 1.5, "5", Number.NaN, Number.POSITIVE_INFINITY, null, true, 2 ** 53];
      for (const limit of invalid) {
        await expectRejection(
          () => kv.purgeExpired(bad(limit)),
          "KV_INVALID_ARGUMENT",
          "purgeExpired",
          /limit/,
          `purgeExpired(${show(limit)})`,
        );
      }
      // Had a rejected call purged anything, fewer than 3 would be left to remove.
      expectPurged(
        exactPurge,
        await kv.purgeExpired(),
        3,
        1000,
        "purgeExpired() after the rejected calls (a rejected call must remove nothing)",
      );
      expect(await kv.get("live"), "the live key").toBe(1);
    });

    // SPEC "The rest": "Removes at most limit expired entries, never a live one, and returns
    // how many it removed. In-process backends count exactly [...]. A backend whose engine
    // expires keys itself (Redis) may return 0."
    it(
      exactPurge
        ? "removes and counts exactly min(limit, expired) entries, 1000 by default, never a live one"
        : "returns a count within the limit and never removes a live entry",
      async () => {
        const kv = h.kv;
        const live = await writeLiveEntries(kv);
        const expired = Array.from({ length: 1004 }, (_, i) => `e:${String(i).padStart(4, "0")}`);
        await kv.mset(
          expired.map((key) => [key, key] as const),
          { ttlSeconds: SHORT_TTL },
        );
        await kv.set("shortened", 1, { ttlSeconds: LONG_TTL });
        await kv.expire("shortened", SHORT_TTL);
        if (h.manual) {
          // Expires 1 ms after the others: live at their deadline.
          await kv.set("live:later", "later", { ttlSeconds: SHORT_TTL + 0.001 });
          live["live:later"] = "later";
        }
        await h.passDeadline(SHORT_TTL, async () => {
          expectPurged(exactPurge, await kv.purgeExpired(), 0, 0, "1 ms before the deadline");
        });
        // An entry replaced after it expired is live again, not there to purge.
        await kv.set("e:0001", "rewritten");
        live["e:0001"] = "rewritten";
        // Left to purge: 1003 of the mset entries, and "shortened".
        expectPurged(exactPurge, await kv.purgeExpired(3), 3, 3, "purgeExpired(3)");
        expectPurged(exactPurge, await kv.purgeExpired(), 1000, 1000, "purgeExpired()");
        expectPurged(exactPurge, await kv.purgeExpired(), 1, 1000, "purgeExpired() again");
        expectPurged(exactPurge, await kv.purgeExpired(), 0, 1000, "with nothing left");
        expectPurged(exactPurge, await kv.purgeExpired(5), 0, 5, "purgeExpired(5), nothing left");

        const keys = Object.keys(live).sort();
        expect(await kv.scanPrefix(""), "only live keys are left").toEqual(keys);
        expect(await kv.mget(keys), "live values are intact").toEqual(keys.map((k) => live[k]));
        expect(await kv.get("shortened"), "an expired key stays absent").toBeUndefined();
      },
    );

    if (!exactPurge) {
      suite.leaveOut(
        "purgeExpired after operations touched expired keys",
        'needs capabilities.purge "exact"',
      );
      return;
    }

    // SPEC "The rest": "A backend may also drop an expired entry when an operation touches
    // its key (lazy expiry [...]); such an entry is then no longer there for purgeExpired
    // to count."
    it(
      suite.caps.lazyExpiry
        ? "counts expired entries that operations touched at most once, and untouched ones exactly (lazy expiry)"
        : "still counts expired entries that operations touched (lazyExpiry: false)",
      async () => {
        const kv = h.kv;
        const touched = Array.from({ length: 8 }, (_, i) => `t:${i}`);
        const untouched = Array.from({ length: 5 }, (_, i) => `u:${i}`);
        await kv.mset(
          [...touched, ...untouched].map((key) => [key, key] as const),
          { ttlSeconds: SHORT_TTL },
        );
        await kv.set("live", "live");
        await h.passDeadline(SHORT_TTL);
        // Every kind of touch that leaves an expired key expired.
        const [get, mget, exists, ttl, del, expire, pop, scanned] = touched;
        expect(await kv.get(get!), `get(${show(get)})`).toBeUndefined();
        expect(await kv.mget([mget!]), `mget([${show(mget)}])`).toEqual([undefined]);
        expect(await kv.exists(exists!), `exists(${show(exists)})`).toBe(false);
        expect(await kv.ttl(ttl!), `ttl(${show(ttl)})`).toBeUndefined();
        expect(await kv.delete(del!), `delete(${show(del)})`).toBe(false);
        expect(await kv.expire(expire!, LONG_TTL), `expire(${show(expire)})`).toBe(false);
        expect(await kv.listPopAll(pop!), `listPopAll(${show(pop)})`).toEqual([]);
        expect(await kv.scanPrefix(scanned!), `scanPrefix(${show(scanned)})`).toEqual([]);

        let removed = 0;
        for (let round = 0; round < 3; round++) removed += await kv.purgeExpired();
        const all = touched.length + untouched.length;
        if (suite.caps.lazyExpiry) {
          const what = `purgeExpired() after ${touched.length} of ${all} expired keys were touched (capabilities.lazyExpiry true: each touched one counts once or not at all, each untouched one exactly once)`;
          expect(removed, what).toBeGreaterThanOrEqual(untouched.length);
          expect(removed, what).toBeLessThanOrEqual(all);
        } else {
          expect(
            removed,
            `purgeExpired() after ${touched.length} of ${all} expired keys were touched: capabilities.lazyExpiry false says a touched expired entry stays for purgeExpired to count (declare lazyExpiry: true if the backend drops expired entries that get, delete, expire, ... touch)`,
          ).toBe(all);
        }
        expect(await kv.scanPrefix(""), "only the live key is left").toEqual(["live"]);
        expect(await kv.purgeExpired(), "nothing left to purge").toBe(0);
      },
    );
  });
}
