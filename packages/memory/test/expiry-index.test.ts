import { ExpiryIndex } from "@kv/core/adapter";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// Core's ExpiryIndex, tested here as @kv/memory uses it: items are entries whose current
// deadline decides which node counts; NaN once removed.
interface Entry {
  id: number;
  deadline: number;
}

const NONE = Number.POSITIVE_INFINITY;
let calls = 0;

function newIndex(slack?: number): ExpiryIndex<Entry> {
  return new ExpiryIndex<Entry>(
    (entry, deadline) => {
      calls++;
      return entry.deadline === deadline;
    },
    { slack },
  );
}

describe("ExpiryIndex (core)", () => {
  it("hands out exactly the expired entries, soonest first, whatever happened before", () => {
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
      fc.property(
        fc.array(op, { maxLength: 200 }),
        fc.constantFrom(undefined, 0, 3),
        (ops, slack) => {
          // slack 0 and 3: compactions start all the time and run step by step, interleaved
          // with adds and takes.
          const index = newIndex(slack);
          const entries = Array.from({ length: 12 }, (_, id): Entry => ({ id, deadline: NONE }));
          let now = 0;
          for (const o of ops) {
            if (o.kind === "schedule") {
              const entry = entries[o.id]!;
              // As @kv/memory does: no second node for the deadline the entry already has.
              if (entry.deadline === now + o.ttl) continue;
              entry.deadline = now + o.ttl;
              index.add(
                entry,
                entry.deadline,
                o.ttl,
                entries.filter((e) => e.deadline < NONE).length,
              );
            } else if (o.kind === "unschedule") {
              entries[o.id]!.deadline = NONE;
            } else if (o.kind === "advance") {
              now += o.ms;
            } else {
              const expired = entries.filter((e) => e.deadline <= now);
              const soonest = expired.map((e) => e.deadline).sort((a, b) => a - b);
              const taken: number[] = [];
              for (let i = 0; i < o.limit; i++) {
                const entry = index.takeExpired(now);
                if (entry === undefined) break;
                expect(expired).toContain(entry);
                taken.push(entry.deadline);
                entry.deadline = NONE; // the owner removes it
              }
              // Exactly min(limit, expired), soonest first.
              expect(taken.length).toBe(Math.min(o.limit, expired.length));
              expect(taken).toEqual(soonest.slice(0, taken.length));
            }
            const current = entries.filter((e) => e.deadline < NONE).length;
            expect(index.nodes).toBeGreaterThanOrEqual(current);
            expect([...index.items()].length).toBe(index.nodes);
          }
          index.compact();
          // Every stale node goes but a queue's head (compaction never moves a head): at
          // most one per TTL in use.
          const current = entries.filter((e) => e.deadline < NONE).length;
          expect(index.nodes).toBeLessThanOrEqual(current + 5);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("compacts stale nodes away: a key re-set with a TTL in a loop does not grow it", () => {
    const index = newIndex();
    const entry: Entry = { id: 0, deadline: 0 };
    for (let now = 0; now < 100_000; now++) {
      entry.deadline = now + 60_000;
      index.add(entry, entry.deadline, 60_000, 1);
    }
    expect(index.nodes).toBeLessThan(2200);
    expect(index.takeExpired(159_998)).toBeUndefined();
    expect(index.takeExpired(159_999)).toBe(entry);
    entry.deadline = Number.NaN;
    expect(index.takeExpired(1e12)).toBeUndefined();
    expect(index.nodes).toBe(0);
  });

  it("compacts step by step: no add ever does a whole compaction", () => {
    const index = newIndex();
    const entries = Array.from({ length: 10_000 }, (_, id): Entry => ({ id, deadline: NONE }));
    let worst = 0;
    for (let now = 1; now <= 100_000; now++) {
      const entry = entries[now % entries.length]!;
      entry.deadline = now + 3_600_000;
      // Count the nodes each add visits through isCurrent: bounded, whatever the size.
      calls = 0;
      index.add(entry, entry.deadline, 3_600_000, entries.length);
      worst = Math.max(worst, calls);
    }
    expect(worst).toBeLessThanOrEqual(8);
    expect(index.nodes).toBeLessThanOrEqual(3 * entries.length + 1024);
    index.compact();
    expect(index.nodes).toBeLessThanOrEqual(entries.length + 1); // + a stale head, at most
  });

  it("keeps deadline order when a clock goes back", () => {
    const index = newIndex();
    const late: Entry = { id: 1, deadline: 100 };
    const early: Entry = { id: 2, deadline: 50 };
    index.add(late, 100, 10, 2);
    index.add(early, 50, 10, 2);
    expect(index.nextDeadline()).toBe(50);
    expect(index.takeExpired(100)).toBe(early);
    expect(index.takeExpired(100)).toBe(late);
    expect(index.nextDeadline()).toBe(NONE);
  });
});
