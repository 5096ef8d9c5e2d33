import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpiryIndex, type IndexedEntry } from "../src/expiry-index.js";

interface Entry extends IndexedEntry {
  id: number;
}

describe("ExpiryIndex", () => {
  it("hands out exactly the expired indexed entries, soonest first, whatever happened before", () => {
    // Twelve entries, TTL classes that collide, a clock that only goes forward.
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("schedule" as const),
        id: fc.nat(11),
        ttl: fc.constantFrom(1, 2, 5, 10, 30),
      }),
      fc.record({ kind: fc.constant("unschedule" as const), id: fc.nat(11) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.nat(12) }),
      fc.record({ kind: fc.constant("take" as const), limit: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const index = new ExpiryIndex<Entry>();
        const entries = Array.from(
          { length: 12 },
          (_, id): Entry => ({ id, deadline: 0, indexed: false }),
        );
        let now = 0;
        for (const o of ops) {
          if (o.kind === "schedule") {
            const entry = entries[o.id]!;
            entry.deadline = now + o.ttl;
            index.schedule(entry, o.ttl);
          } else if (o.kind === "unschedule") {
            index.unschedule(entries[o.id]!);
          } else if (o.kind === "advance") {
            now += o.ms;
          } else {
            const expired = entries.filter((e) => e.indexed && e.deadline <= now);
            const taken: Entry[] = [];
            for (let i = 0; i < o.limit; i++) {
              const entry = index.takeExpired(now);
              if (entry === undefined) break;
              taken.push(entry);
            }
            // Exactly min(limit, expired), soonest first, each one out of the index after.
            expect(taken.length).toBe(Math.min(o.limit, expired.length));
            const soonest = expired.map((e) => e.deadline).sort((a, b) => a - b);
            expect(taken.map((e) => e.deadline)).toEqual(soonest.slice(0, taken.length));
            for (const e of taken) expect(e.indexed).toBe(false);
          }
          expect(index.size).toBe(entries.filter((e) => e.indexed).length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("compacts stale nodes away: a key re-set with a TTL in a loop does not grow it", () => {
    const index = new ExpiryIndex<Entry>();
    const entry: Entry = { id: 0, deadline: 0, indexed: false };
    for (let now = 0; now < 100_000; now++) {
      entry.deadline = now + 60_000;
      index.schedule(entry, 60_000);
    }
    expect(index.size).toBe(1);
    expect(index.takeExpired(159_998)).toBeUndefined();
    expect(index.takeExpired(159_999)).toBe(entry);
    expect(index.takeExpired(1e12)).toBeUndefined();
  });

  it("keeps deadline order when a clock goes back", () => {
    const index = new ExpiryIndex<Entry>();
    const late: Entry = { id: 1, deadline: 100, indexed: false };
    const early: Entry = { id: 2, deadline: 50, indexed: false };
    index.schedule(late, 10);
    index.schedule(early, 10);
    expect(index.takeExpired(100)).toBe(early);
    expect(index.takeExpired(100)).toBe(late);
  });
});
