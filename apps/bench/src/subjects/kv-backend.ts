import type { JsonValue, KVBackend } from "@kv/core";
import type { Item } from "../data.js";
import type { Pairs, Store } from "./types.js";

/** Any `KVBackend` (ours, or a third party's) as a bench store: every operation native. */
export class KVBackendStore implements Store {
  constructor(readonly backend: KVBackend) {}

  get(key: string): Promise<unknown> {
    return this.backend.get(key);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.backend.set(key, value as JsonValue);
  }

  setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    return this.backend.set(key, value as JsonValue, { ttlSeconds });
  }

  mget(keys: readonly string[]): Promise<unknown[]> {
    return this.backend.mget(keys as string[]);
  }

  /** An array of `[key, value]` pairs: one of the two forms `mset` takes (the other is a record). */
  prepareMset(pairs: Pairs): unknown {
    return pairs;
  }

  mset(prepared: unknown): Promise<void> {
    return this.backend.mset(prepared as Iterable<readonly [string, JsonValue]>);
  }

  msetTtl(prepared: unknown, ttlSeconds: number): Promise<void> {
    return this.backend.mset(prepared as Iterable<readonly [string, JsonValue]>, { ttlSeconds });
  }

  delete(key: string): Promise<boolean> {
    return this.backend.delete(key);
  }

  incr(key: string): Promise<number> {
    return this.backend.incr(key);
  }

  listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    return this.backend.listAppendUnique(key, items);
  }

  listPopAll(key: string): Promise<unknown[]> {
    return this.backend.listPopAll(key);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
