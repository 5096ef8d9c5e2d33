import { Keyv } from "keyv";
import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";
import { appendUnique, GET_SET_NOTE, incremented } from "./user-lists.js";

/** keyv 5 with its default store (a `Map`) and default serializer. */
class KeyvStore implements Store {
  readonly #keyv = new Keyv();

  get(key: string): Promise<unknown> {
    return this.#keyv.get(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.#keyv.set(key, value);
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    // keyv takes milliseconds.
    await this.#keyv.set(key, value, ttlSeconds * 1000);
  }

  mget(keys: readonly string[]): Promise<unknown[]> {
    return this.#keyv.getMany(keys as string[]);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs.map(([key, value]) => ({ key, value }));
  }

  async mset(prepared: unknown): Promise<void> {
    await this.#keyv.setMany(prepared as { key: string; value: unknown }[]);
  }

  delete(key: string): Promise<boolean> {
    return this.#keyv.delete(key);
  }

  async incr(key: string): Promise<number> {
    const next = incremented(await this.#keyv.get(key));
    await this.#keyv.set(key, next);
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const list = appendUnique(await this.#keyv.get(key), items);
    await this.#keyv.set(key, list);
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const list = await this.#keyv.get(key);
    await this.#keyv.delete(key);
    return Array.isArray(list) ? list : [];
  }

  async close(): Promise<void> {
    await this.#keyv.disconnect();
  }
}

export const keyv: Subject = {
  name: "keyv",
  what: "keyv 5.6 (default Map store, default serializer)",
  copies: true,
  copyNote: "serializes { value, expires } with @keyv/serialize (JSON) on write, parses on read",
  support: {
    incr: { kind: "emulated", note: GET_SET_NOTE },
    listAppendUnique: { kind: "emulated", note: GET_SET_NOTE },
    listPopAll: { kind: "emulated", note: "get + delete in user code, not atomic" },
  },
  create: () => new KeyvStore(),
};
