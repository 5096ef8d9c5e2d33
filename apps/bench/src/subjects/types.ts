import type { Item } from "../data.js";

/** Every operation a cell can measure. */
export type Op =
  | "get"
  | "set"
  | "setTtl"
  | "mget"
  | "mset"
  | "delete"
  | "incr"
  | "listAppendUnique"
  | "listPopAll";

/**
 * How a subject provides an operation: `native` (the library has it), `emulated` (written
 * the way a user of the library would, e.g. get + set; not atomic unless noted), or
 * `missing` (the cell stays empty and `note` says why).
 */
export type Support =
  | { kind: "native"; note?: string }
  | { kind: "emulated"; note: string }
  | { kind: "missing"; note: string };

export type Pairs = ReadonlyArray<readonly [string, unknown]>;

/**
 * One store under test behind a uniform async interface. A method is absent when the
 * subject's `support` says `missing`.
 */
export interface Store {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  setTtl?(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  mget?(keys: readonly string[]): Promise<unknown[]>;
  /**
   * Entries in whatever shape this library's users would build them in (a record, an
   * array of `{ key, value }`…), made by `prepareMset` outside the timed loop.
   */
  prepareMset?(pairs: Pairs): unknown;
  mset?(prepared: unknown): Promise<void>;
  delete?(key: string): Promise<unknown>;
  incr?(key: string): Promise<number>;
  listAppendUnique?(key: string, items: Item[]): Promise<unknown[]>;
  listPopAll?(key: string): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface Subject {
  /** Short row name, as printed in the tables and the chart. */
  name: string;
  /** The package (and version) or the description of what this row is. */
  what: string;
  /**
   * Whether a read returns a copy, independent of what was written (our contract), or
   * the stored reference (not like-for-like: no serialization at all).
   */
  copies: boolean;
  /** How the copy (or not) happens, for the report. */
  copyNote: string;
  support: Partial<Record<Op, Support>>;
  create(): Promise<Store> | Store;
}

export function supportOf(subject: Subject, op: Op): Support {
  return subject.support[op] ?? { kind: "native" };
}
