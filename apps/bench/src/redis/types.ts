import type { Item } from "../data.js";
import type { Pairs } from "../subjects/types.js";

/** A Redis row: the calls the Redis suite makes, all of which every row can express. */
export interface RedisStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  mget(keys: readonly string[]): Promise<unknown[]>;
  prepareMset(pairs: Pairs): unknown;
  mset(prepared: unknown): Promise<void>;
  msetTtl(prepared: unknown, ttlSeconds: number): Promise<void>;
  listAppendUnique(key: string, items: Item[]): Promise<unknown[]>;
  listPopAll(key: string): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface RedisSubject {
  name: string;
  what: string;
  /** The row this one is compared with (raw ioredis with the same client settings). */
  baseline?: string;
  /** How each operation reaches Redis, for the report. */
  commands: string;
  create(url: string): Promise<RedisStore>;
}
