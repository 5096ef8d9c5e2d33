import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";

/**
 * THE BOUND: the fastest a store with our value semantics can be. A `Map` of JSON
 * strings (so every read returns a fresh copy and a later mutation of the caller's
 * object changes nothing), a deadline per entry, and async methods, because the
 * contract is async. It validates nothing, takes no lock, keeps no expiry index and
 * never purges: whatever a real backend spends beyond this is the price of those.
 *
 * The clock is read only for entries that have a deadline, the cheapest correct check.
 */
class Entry {
  constructor(
    public text: string,
    public deadline: number,
  ) {}
}

const now = () => performance.now();

export class BoundJsonStore implements Store {
  readonly #map = new Map<string, Entry>();

  /** The live entry for `key`, dropping it when its deadline has passed. */
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
    const entry = this.#live(key);
    return entry === undefined ? undefined : JSON.parse(entry.text);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#map.set(key, new Entry(JSON.stringify(value), Number.POSITIVE_INFINITY));
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.#map.set(key, new Entry(JSON.stringify(value), now() + Math.ceil(ttlSeconds * 1000)));
  }

  async mget(keys: readonly string[]): Promise<unknown[]> {
    const out = new Array<unknown>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const entry = this.#live(keys[i]!);
      out[i] = entry === undefined ? undefined : JSON.parse(entry.text);
    }
    return out;
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs;
  }

  async mset(prepared: unknown): Promise<void> {
    const pairs = prepared as Pairs;
    // Every value encoded before any is written: all or nothing.
    const texts = new Array<string>(pairs.length);
    for (let i = 0; i < pairs.length; i++) texts[i] = JSON.stringify(pairs[i]![1]);
    for (let i = 0; i < pairs.length; i++) {
      this.#map.set(pairs[i]![0], new Entry(texts[i]!, Number.POSITIVE_INFINITY));
    }
  }

  async delete(key: string): Promise<boolean> {
    return this.#live(key) !== undefined && this.#map.delete(key);
  }

  async incr(key: string): Promise<number> {
    const entry = this.#live(key);
    const current = entry === undefined ? 0 : JSON.parse(entry.text);
    if (!Number.isSafeInteger(current)) throw new TypeError("incr: not an integer");
    const next = current + 1;
    if (entry === undefined) this.#map.set(key, new Entry(String(next), Number.POSITIVE_INFINITY));
    else entry.text = String(next);
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const entry = this.#live(key);
    const list: Item[] = entry === undefined ? [] : JSON.parse(entry.text);
    if (!Array.isArray(list)) throw new TypeError("listAppendUnique: not a list");
    const seen = new Set<unknown>();
    for (const element of list) seen.add(element.id);
    // The stored elements are never encoded again: the new ones are spliced in as text.
    let added = "";
    for (const item of items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      const text = JSON.stringify(item);
      added += (added === "" ? "" : ",") + text;
      list.push(JSON.parse(text));
    }
    if (added !== "") {
      if (entry === undefined)
        this.#map.set(key, new Entry(`[${added}]`, Number.POSITIVE_INFINITY));
      else entry.text = entry.text === "[]" ? `[${added}]` : `${entry.text.slice(0, -1)},${added}]`;
    }
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const entry = this.#live(key);
    if (entry === undefined) return [];
    this.#map.delete(key);
    return JSON.parse(entry.text);
  }

  async close(): Promise<void> {
    this.#map.clear();
  }

  /** For the scaling suite: entries held. */
  get size(): number {
    return this.#map.size;
  }
}

export const boundJson: Subject = {
  name: "bound-json",
  what: "async fn over a Map of JSON strings + deadline check (the bound)",
  copies: true,
  copyNote: "JSON.stringify on write, JSON.parse on read",
  support: {},
  create: () => new BoundJsonStore(),
};
