import { describe, expect, it } from "vitest";
import type { KVBackend } from "../types.js";
import { bad, expectRejectedUnchanged, LONG_TTL, SHORT_TTL, show, useHarness } from "./harness.js";
import type { ConformanceOptions } from "./types.js";

/** Expects a `purgeExpired` result: exactly `exact` when the backend counts exactly, else any count in 0..max. */
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
    expect(removed, `${label}: exact count`).toBe(exact);
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

export function definePurgeTests(options: ConformanceOptions): void {
  const { exactPurge } = options;

  describe("purgeExpired", () => {
    const h = useHarness(options);

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
        await expectRejectedUnchanged(
          h,
          kv,
          () => kv.purgeExpired(bad(limit)),
          "KV_INVALID_ARGUMENT",
          "purgeExpired",
          /limit/,
          `purgeExpired(${show(limit)})`,
        );
      }
      // Had a rejected call purged anything, fewer than 3 would be left to remove.
      expectPurged(exactPurge, await kv.purgeExpired(), 3, 1000, "purgeExpired() afterwards");
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
        const expired = Array.from({ length: 1005 }, (_, i) => `e:${String(i).padStart(4, "0")}`);
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
        // Entries removed or replaced after they expired are no longer there to purge.
        expect(await kv.delete("e:0000"), "delete of an expired key").toBe(false);
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
  });
}
