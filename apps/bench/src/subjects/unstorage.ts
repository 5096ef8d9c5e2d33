import { createStorage, type Storage } from "unstorage";
import type { Item } from "../data.js";
import type { Pairs, Store, Subject } from "./types.js";
import { appendUnique, GET_SET_NOTE, incremented } from "./user-lists.js";

/** unstorage 1.17 with its default driver (memory). */
class UnstorageStore implements Store {
  readonly #storage: Storage = createStorage();

  get(key: string): Promise<unknown> {
    return this.#storage.getItem(key);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.#storage.setItem(key, value as string);
  }

  async mget(keys: readonly string[]): Promise<unknown[]> {
    const found = await this.#storage.getItems(keys as string[]);
    return found.map((entry) => entry.value);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs.map(([key, value]) => ({ key, value }));
  }

  mset(prepared: unknown): Promise<void> {
    return this.#storage.setItems(prepared as { key: string; value: string }[]);
  }

  delete(key: string): Promise<void> {
    return this.#storage.removeItem(key);
  }

  async incr(key: string): Promise<number> {
    const next = incremented(await this.#storage.getItem(key));
    await this.#storage.setItem(key, next);
    return next;
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const list = appendUnique(await this.#storage.getItem(key), items);
    await this.#storage.setItem(key, list as unknown as string);
    return list;
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const list = await this.#storage.getItem(key);
    await this.#storage.removeItem(key);
    return Array.isArray(list) ? list : [];
  }

  close(): Promise<void> {
    return this.#storage.dispose();
  }
}

export const unstorage: Subject = {
  name: "unstorage",
  what: "unstorage 1.17 (memory driver)",
  copies: true,
  copyNote: "JSON.stringify on write, destr (JSON.parse) on read",
  support: {
    setTtl: {
      kind: "missing",
      note: "the memory driver has no TTL: unstorage hands `ttl` to drivers that implement it, and this one ignores it",
    },
    incr: { kind: "emulated", note: GET_SET_NOTE },
    listAppendUnique: { kind: "emulated", note: GET_SET_NOTE },
    listPopAll: { kind: "emulated", note: "getItem + removeItem in user code, not atomic" },
  },
  create: () => new UnstorageStore(),
};
