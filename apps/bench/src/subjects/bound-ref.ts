import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";

/**
 * The bound without copying: the same Map and deadline check, storing the caller's
 * objects themselves. Not our semantics (a caller mutating a value it wrote or read
 * changes the store); it is here to show what copying costs, and to compare fairly
 * with the peers that keep references.
 */
class Entry {
  constructor(
    public value: unknown,
    public deadline: number,
  ) {}
}

const now = () => performance.now();

class BoundRefStore implements Store {
  readonly #map = new Map<string, Entry>();

  #live(key: string): Entry | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.deadline !== Number.POSITIVE_INFINITY && now() >= entry.deadline) {
      this.#map.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<unknown> {
    return this.#live(key)?.value;
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#map.set(key, new Entry(value, Number.POSITIVE_INFINITY));
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.#map.set(key, new Entry(value, now() + Math.ceil(ttlSeconds * 1000)));
  }

  async mget(keys: readonly string[]): Promise<unknown[]> {
    const out = new Array<unknown>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = this.#live(keys[i]!)?.value;
    return out;
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs;
  }

  async mset(prepared: unknown): Promise<void> {
    for (const [key, value] of prepared as Pairs) {
      this.#map.set(key, new Entry(value, Number.POSITIVE_INFINITY));
    }
  }

  async delete(key: string): Promise<boolean> {
    return this.#live(key) !== undefined && this.#map.delete(key);
  }

  async incr(key: string): Promise<number> {
    const entry = this.#live(key);
    const next = ((entry?.value as number | undefined) ?? 0) + 1;
    if (entry === undefined) this.#map.set(key, new Entry(next, Number.POSITIVE_INFINITY));
    else entry.value = next;
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    let entry = this.#live(key);
    if (entry === undefined) {
      entry = new Entry([], Number.POSITIVE_INFINITY);
      this.#map.set(key, entry);
    }
    const list = entry.value as Item[];
    const seen = new Set<unknown>();
    for (const element of list) seen.add(element.id);
    for (const item of items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      list.push(item);
    }
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const entry = this.#live(key);
    if (entry === undefined) return [];
    this.#map.delete(key);
    return entry.value as unknown[];
  }

  async close(): Promise<void> {
    this.#map.clear();
  }
}

export const boundRef: Subject = {
  name: "bound-ref",
  what: "the bound storing references (no copy; not our semantics)",
  copies: false,
  copyNote: "stores and returns the caller's object",
  support: {},
  create: () => new BoundRefStore(),
};
