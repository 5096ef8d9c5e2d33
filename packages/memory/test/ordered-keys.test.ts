import { OrderedKeys, type ResolvedScan, scanUnordered } from "@kv/core/adapter";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// Core's OrderedKeys, against the plain filter-sort-slice of scanUnordered over a Set.
describe("OrderedKeys (core)", () => {
  it("pages like a sort of every key, whatever was added and removed", () => {
    // Few distinct characters, so prefixes and `after` values hit real keys.
    const key = fc.string({
      unit: fc.constantFrom("a", "b", "c", "\u00e9", "\ud83d\ude00"),
      minLength: 1,
      maxLength: 4,
    });
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), key }),
      fc.record({ kind: fc.constant("delete" as const), key }),
      fc.record({
        kind: fc.constant("scan" as const),
        prefix: fc.string({ unit: fc.constantFrom("a", "b", "c", "\u00e9"), maxLength: 2 }),
        after: fc.option(key, { nil: undefined }),
        limit: fc.integer({ min: 1, max: 7 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(key, { maxLength: 30 }),
        fc.array(op, { maxLength: 200 }),
        (initial, ops) => {
          const store = new Set(initial);
          const keys = new OrderedKeys({
            present: (k) => store.has(k),
            held: () => store.size,
            source: () => store,
          });
          const live = (k: string) => store.has(k);
          for (const o of ops) {
            if (o.kind === "add") {
              if (!store.has(o.key)) {
                store.add(o.key);
                keys.add(o.key);
              }
            } else if (o.kind === "delete") {
              store.delete(o.key);
            } else {
              const scan: ResolvedScan = { prefix: o.prefix, after: o.after, limit: o.limit };
              expect(keys.scan(scan, live)).toEqual(scanUnordered(store, scan, live));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("pages the same when it holds entry objects (keyOf), with keys that leave and come back", () => {
    interface Item {
      key: string;
      gone: boolean;
    }
    const key = fc.string({
      unit: fc.constantFrom("a", "b", "\u00e9"),
      minLength: 1,
      maxLength: 3,
    });
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), key }),
      fc.record({ kind: fc.constant("delete" as const), key }),
      fc.record({
        kind: fc.constant("scan" as const),
        prefix: fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 2 }),
        after: fc.option(key, { nil: undefined }),
        limit: fc.integer({ min: 1, max: 5 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const store = new Map<string, Item>();
        const keys = new OrderedKeys<Item>({
          present: (item) => !item.gone,
          held: () => store.size,
          source: () => store.keys(),
          resolve: (k) => store.get(k),
          keyOf: (item) => item.key,
        });
        for (const o of ops) {
          if (o.kind === "add") {
            if (!store.has(o.key)) {
              const item = { key: o.key, gone: false };
              store.set(o.key, item);
              keys.add(o.key);
            }
          } else if (o.kind === "delete") {
            const item = store.get(o.key);
            if (item !== undefined) item.gone = true;
            store.delete(o.key);
          } else {
            const scan: ResolvedScan = { prefix: o.prefix, after: o.after, limit: o.limit };
            const expected = scanUnordered(store.keys(), scan, () => true);
            expect(keys.scan(scan, (item) => !item.gone)).toEqual(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("splits, merges and compacts at scale, and pages a big index in one pass", () => {
    const store = new Set<string>();
    const keys = new OrderedKeys({
      present: (k) => store.has(k),
      held: () => store.size,
      source: () => store,
    });
    const live = (k: string) => store.has(k);
    // Keys arrive in no order, some are deleted and added back, scans come in between.
    let x = 7;
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 2000; i++) {
        const k = `k:${next() % 30_000}`;
        if (next() % 4 === 0) store.delete(k);
        else if (!store.has(k)) {
          store.add(k);
          keys.add(k);
        }
      }
      const scan: ResolvedScan = { prefix: "k:1", after: "k:15", limit: 50 };
      expect(keys.scan(scan, live)).toEqual(scanUnordered(store, scan, live));
    }
    expect(keys.size).toBeLessThanOrEqual(2 * store.size + 2048);
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = keys.scan({ prefix: "", after, limit: 1000 }, live);
      all.push(...page);
      if (page.length < 1000) break;
      after = page.at(-1);
    }
    expect(all).toEqual([...store].sort());
  });

  it("goes dormant when writes outrun scans, and comes back at the next scan", () => {
    const store = new Set<string>();
    const keys = new OrderedKeys({
      present: (k) => store.has(k),
      held: () => store.size,
      source: () => store,
    });
    const live = (k: string) => store.has(k);
    const add = (k: string) => {
      store.add(k);
      keys.add(k);
    };
    expect(keys.active).toBe(false); // nothing until the first scan
    for (let i = 0; i < 1000; i++) add(`a${i}`);
    const scan: ResolvedScan = { prefix: "a9", after: "a95", limit: 5 };
    expect(keys.scan(scan, live)).toEqual(scanUnordered(store, scan, live));
    expect(keys.active).toBe(true);
    for (let i = 0; i < 1000; i++) add(`b${i}`); // buffered: no more than the index holds
    expect(keys.active).toBe(true);
    expect(keys.scan(scan, live)).toEqual(scanUnordered(store, scan, live)); // merged
    for (let i = 0; i < 3000; i++) add(`c${i}`); // more than the index: dropped
    expect(keys.active).toBe(false);
    expect(keys.size).toBe(0);
    const all: ResolvedScan = { prefix: "", after: "b998", limit: 10 };
    expect(keys.scan(all, live)).toEqual(scanUnordered(store, all, live));
  });
});
