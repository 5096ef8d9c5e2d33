import { isKVError, ManualClock } from "@kv/core";
import { ttlToMs } from "@kv/core/adapter";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EvictionReason, LruBackend } from "../src/index.js";

/**
 * A model-based test of what the conformance suite does not see: capacity, recency,
 * expiry and the onEvict/stats reports working together, on a cache small enough that
 * nearly every write evicts. The model is a Map in recency order (oldest first) holding
 * entries until something removes them, expired ones included, like lru-cache does.
 */

const MAX = 3;
const KEYS = ["a", "b", "c", "d", "e"];

type Value = number | string | { id: number }[];
interface Entry {
  value: Value;
  deadline: number;
}

class Model {
  readonly entries = new Map<string, Entry>();
  events: [string, EvictionReason][] = [];
  hits = 0;
  misses = 0;
  evictions = 0;
  expirations = 0;

  constructor(public now: number) {}

  #drop(key: string, reason: EvictionReason): void {
    this.events.push([key, reason]);
    if (reason === "evict") this.evictions++;
    else this.expirations++;
  }

  /**
   * A read that uses the key: a live entry becomes the most recent; an expired one is
   * left where it is, for the purge (reads never remove anything).
   */
  lookup(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || this.now >= entry.deadline) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && this.now < entry.deadline ? entry : undefined;
  }

  insert(key: string, value: Value, deadline: number): void {
    if (!this.entries.delete(key) && this.entries.size >= MAX) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      this.#drop(oldest, this.now >= entry.deadline ? "expire" : "evict");
    }
    this.entries.set(key, { value: structuredClone(value), deadline });
  }

  deadline(ttlSeconds: number | undefined): number {
    return ttlSeconds === undefined
      ? Number.POSITIVE_INFINITY
      : this.now + ttlToMs("model", ttlSeconds);
  }

  purge(): number {
    let removed = 0;
    for (const [key, entry] of [...this.entries]) {
      if (this.now < entry.deadline) continue;
      this.entries.delete(key);
      this.#drop(key, "expire");
      removed++;
    }
    return removed;
  }
}

type Command =
  | { op: "set"; key: string; value: number | string; ttl: number | undefined }
  | { op: "get" | "delete" | "exists" | "ttl" | "listPopAll"; key: string }
  | { op: "incr"; key: string; by: number; ttl: number | undefined }
  | { op: "expire"; key: string; ttl: number }
  | { op: "mset"; pairs: [string, number][]; ttl: number | undefined }
  | { op: "append"; key: string; ids: number[]; ttl: number | undefined }
  | { op: "advance"; ms: number }
  | { op: "purge" };

const key = fc.constantFrom(...KEYS);
// Seconds as users write them, fractions of a millisecond included.
const ttl = fc.option(
  fc.integer({ min: 1, max: 4_000 }).map((ms) => ms / 1000),
  { nil: undefined },
);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    op: fc.constant("set" as const),
    key,
    value: fc.oneof(fc.integer(), fc.string()),
    ttl,
  }),
  fc.record({ op: fc.constantFrom("get", "delete", "exists", "ttl", "listPopAll"), key }),
  fc.record({ op: fc.constant("incr" as const), key, by: fc.integer({ min: -3, max: 3 }), ttl }),
  fc.record({
    op: fc.constant("expire" as const),
    key,
    ttl: fc.integer({ min: 1, max: 4_000 }).map((ms) => ms / 1000),
  }),
  fc.record({
    op: fc.constant("mset" as const),
    pairs: fc.array(fc.tuple(key, fc.integer()), { minLength: 1, maxLength: MAX }),
    ttl,
  }),
  fc.record({
    op: fc.constant("append" as const),
    key,
    ids: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    ttl,
  }),
  fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({ op: fc.constant("purge" as const) }),
);

/** The model's answer to a command: its result, or the error code it must fail with. */
function expected(model: Model, c: Command): { ok: unknown } | { code: string } {
  switch (c.op) {
    case "set":
      model.insert(c.key, c.value, model.deadline(c.ttl));
      return { ok: undefined };
    case "get": {
      const entry = model.lookup(c.key);
      if (entry === undefined) model.misses++;
      else model.hits++;
      return { ok: entry?.value };
    }
    case "delete": {
      // Whatever is stored goes, silently; only a live key counts.
      const live = model.live(c.key) !== undefined;
      model.entries.delete(c.key);
      return { ok: live };
    }
    case "exists":
      return { ok: model.live(c.key) !== undefined };
    case "ttl": {
      const entry = model.live(c.key);
      return { ok: entry === undefined ? undefined : (entry.deadline - model.now) / 1000 };
    }
    case "listPopAll": {
      const entry = model.lookup(c.key);
      if (entry === undefined) return { ok: [] };
      if (!Array.isArray(entry.value)) return { code: "KV_WRONG_TYPE" };
      model.entries.delete(c.key);
      return { ok: entry.value };
    }
    case "incr": {
      const entry = model.lookup(c.key);
      const base = entry === undefined ? 0 : entry.value;
      if (!Number.isSafeInteger(base)) return { code: "KV_WRONG_TYPE" };
      const next = (base as number) + c.by;
      const deadline = c.ttl !== undefined ? model.deadline(c.ttl) : (entry?.deadline ?? Infinity);
      model.insert(c.key, next, deadline);
      return { ok: next };
    }
    case "expire": {
      const entry = model.lookup(c.key);
      if (entry === undefined) return { ok: false };
      model.insert(c.key, entry.value, model.deadline(c.ttl));
      return { ok: true };
    }
    case "mset": {
      const deadline = model.deadline(c.ttl);
      for (const [k, v] of new Map(c.pairs)) model.insert(k, v, deadline);
      return { ok: undefined };
    }
    case "append": {
      const entry = model.lookup(c.key);
      if (entry !== undefined && !Array.isArray(entry.value)) return { code: "KV_WRONG_TYPE" };
      const list = entry === undefined ? [] : structuredClone(entry.value as { id: number }[]);
      const before = list.length;
      for (const id of c.ids) if (!list.some((item) => item.id === id)) list.push({ id });
      if (entry === undefined && list.length === 0) return { ok: [] };
      if (entry !== undefined && list.length === before && c.ttl === undefined) return { ok: list };
      model.insert(
        c.key,
        list,
        c.ttl !== undefined ? model.deadline(c.ttl) : (entry?.deadline ?? Infinity),
      );
      return { ok: list };
    }
    case "advance":
      model.now += c.ms;
      return { ok: undefined };
    case "purge":
      return { ok: model.purge() };
  }
}

async function actual(
  kv: LruBackend,
  clock: ManualClock,
  c: Command,
): Promise<{ ok: unknown } | { code: string }> {
  const options = (t: number | undefined) => (t === undefined ? undefined : { ttlSeconds: t });
  try {
    switch (c.op) {
      case "set":
        return { ok: await kv.set(c.key, c.value, options(c.ttl)) };
      case "get":
        return { ok: await kv.get(c.key) };
      case "delete":
        return { ok: await kv.delete(c.key) };
      case "exists":
        return { ok: await kv.exists(c.key) };
      case "ttl":
        return { ok: await kv.ttl(c.key) };
      case "listPopAll":
        return { ok: await kv.listPopAll(c.key) };
      case "incr":
        return { ok: await kv.incr(c.key, c.by, options(c.ttl)) };
      case "expire":
        return { ok: await kv.expire(c.key, c.ttl) };
      case "mset":
        return { ok: await kv.mset(c.pairs, options(c.ttl)) };
      case "append":
        return {
          ok: await kv.listAppendUnique(
            c.key,
            c.ids.map((id) => ({ id })),
            options(c.ttl),
          ),
        };
      case "advance":
        return { ok: clock.advance(c.ms) };
      case "purge":
        return { ok: await kv.purgeExpired(1_000) };
    }
  } catch (error) {
    if (isKVError(error)) return { code: error.code };
    throw error;
  }
}

const byKey = (a: [string, string], b: [string, string]) => a[0].localeCompare(b[0]);

describe("lru model", () => {
  it("capacity, recency, expiry, onEvict and stats agree with the model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 1_700_000_000_000),
        fc.array(command, { maxLength: 60 }),
        async (start, commands) => {
          const clock = new ManualClock(start);
          const events: [string, EvictionReason][] = [];
          const kv = new LruBackend({ max: MAX, clock, onEvict: (k, r) => events.push([k, r]) });
          const model = new Model(start);
          for (const c of commands) {
            const want = expected(model, c);
            const got = await actual(kv, clock, c);
            expect(got, JSON.stringify(c)).toEqual(want);
            // A purge removes in deadline order, equal deadlines in any order.
            const ordered =
              c.op === "purge"
                ? (e: [string, string][]) => [...e].sort(byKey)
                : (e: [string, string][]) => e;
            expect(ordered(events.splice(0)), JSON.stringify(c)).toEqual(
              ordered(model.events.splice(0)),
            );
            expect(kv.stats.entries).toBe(model.entries.size);
          }
          expect(kv.stats).toEqual({
            hits: model.hits,
            misses: model.misses,
            evictions: model.evictions,
            expirations: model.expirations,
            entries: model.entries.size,
            bytes: 0,
          });
          await kv.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});
