import {
  assertKey,
  assertKeys,
  type Clock,
  closedError,
  DEFAULT_PURGE_LIMIT,
  decodeList,
  decodeValue,
  type Entries,
  encodeEntries,
  encodeValue,
  incremented,
  invalidArgument,
  isExpired,
  type JsonValue,
  type KVBackend,
  KVError,
  type ListAppendOptions,
  NO_DEADLINE,
  type PreparedAppend,
  planListAppend,
  prepareListAppend,
  resolveAmount,
  resolveLimit,
  resolveMaxValueBytes,
  resolveScan,
  type ScanOptions,
  secondsLeft,
  type TtlOption,
  ttlFromOptions,
  ttlToMs,
} from "@kv/core";
import Database from "better-sqlite3";
import { decodeKey, encodeKey, prefixUpperBound } from "./keys.js";
import { prepareStatements, type Row, SCHEMA, type Statements } from "./schema.js";

export interface SqliteBackendOptions {
  /** The database file (created if missing); `":memory:"` for a throwaway one. */
  path?: string;
  /**
   * An open better-sqlite3 connection to use instead of `path`. It stays yours:
   * `close()` leaves it open.
   */
  database?: Database.Database;
  /**
   * Where TTLs read the time, in milliseconds. Default: the wall clock (`Date.now()`),
   * because deadlines are stored in the file and must mean the same after a restart.
   */
  clock?: Clock;
  /** The largest value, as UTF-8 bytes of JSON. Default 1 MiB. */
  maxValueBytes?: number;
  /**
   * How often, in seconds, a background timer purges expired rows; `false` turns it off.
   * Default 60. The timer is unref'd: it never keeps the process alive.
   */
  purgeIntervalSeconds?: number | false;
  /** The most expired rows one background tick removes. Default 1000. */
  purgeBatchSize?: number;
}

/** Epoch milliseconds: the one time base that survives a restart of the process. */
export const wallClock: Clock = { now: () => Date.now() };

const NAME = "SqliteBackend";
const MAX_TIMER_MS = 2 ** 31 - 1;
const EMPTY = Buffer.alloc(0);

/**
 * A durable backend: one SQLite table (see schema.ts) through better-sqlite3.
 *
 * ## Why every call is atomic
 * better-sqlite3 is synchronous: a statement runs to completion inside the call that
 * issues it, and every method below does all of its reads and writes in one synchronous
 * stretch, with no `await` in between. JavaScript runs one such stretch at a time, so
 * within the process no other call can see or change the store halfway through one, and
 * calls take effect in the order they were made: that is the linearizability SPEC.md
 * asks for, without a lock. (The `async` on each method only turns a throw into a
 * rejected promise.)
 *
 * Several processes can open the same file. For them, each read-modify-write method
 * (`listAppendUnique`, `listPopAll`, `incr`, `mset`) is one `BEGIN IMMEDIATE`
 * transaction: it takes SQLite's write lock before it reads, so two processes cannot
 * both read the same list and each write back their own append. `mget` reads in one
 * transaction, so it sees a single snapshot. Single statements are atomic by themselves.
 * The clock is read inside the transaction, after the lock is held.
 */
export class SqliteBackend implements KVBackend {
  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #sql: Statements;
  readonly #clock: Clock;
  readonly #maxValueBytes: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  // better-sqlite3 wraps a function in BEGIN/COMMIT, and ROLLBACK when it throws: a
  // call that fails (KV_WRONG_TYPE, KV_VALUE_TOO_LARGE, ...) leaves no trace.
  readonly #appendTx;
  readonly #popTx;
  readonly #incrTx;
  readonly #msetTx;
  readonly #mgetTx;

  constructor(options: SqliteBackendOptions) {
    if (typeof options !== "object" || options === null) {
      throw invalidArgument(NAME, "options must be an object with a path or a database", options);
    }
    this.#clock = options.clock ?? wallClock;
    this.#maxValueBytes = resolveMaxValueBytes(NAME, options.maxValueBytes);
    const interval = options.purgeIntervalSeconds ?? 60;
    const intervalMs =
      interval === false ? undefined : ttlToMs(NAME, interval, "purgeIntervalSeconds");
    const batch = resolveLimit(NAME, options.purgeBatchSize, DEFAULT_PURGE_LIMIT, "purgeBatchSize");

    this.#ownsDb = options.database === undefined;
    this.#db = options.database ?? openFile(options.path);
    this.#db.exec(SCHEMA);
    this.#sql = prepareStatements(this.#db);

    this.#appendTx = this.#db.transaction(this.#append.bind(this)).immediate;
    this.#popTx = this.#db.transaction(this.#pop.bind(this)).immediate;
    this.#incrTx = this.#db.transaction(this.#increment.bind(this)).immediate;
    this.#msetTx = this.#db.transaction(this.#writeAll.bind(this)).immediate;
    this.#mgetTx = this.#db.transaction(this.#readAll.bind(this)).deferred;

    if (intervalMs !== undefined) {
      this.#timer = setInterval(
        () => this.#backgroundPurge(batch),
        Math.min(intervalMs, MAX_TIMER_MS),
      );
      this.#timer.unref();
    }
  }

  async get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined> {
    return this.#run("get", () => {
      assertKey("get", key);
      const row = this.#live(encodeKey(key), this.#clock.now());
      return row === undefined ? defaultValue : decodeValue<T>(row.value);
    });
  }

  async set(key: string, value: JsonValue, options?: TtlOption): Promise<void> {
    this.#run("set", () => {
      assertKey("set", key);
      const ttlMs = ttlFromOptions("set", options);
      const json = encodeValue("set", value, this.#maxValueBytes);
      this.#sql.upsert.run(encodeKey(key), json, this.#deadline(this.#clock.now(), ttlMs));
    });
  }

  async delete(key: string): Promise<boolean> {
    return this.#run("delete", () => {
      assertKey("delete", key);
      // An expired row is removed as well, but only a live one counts.
      const removed = this.#sql.remove.get(encodeKey(key));
      return removed !== undefined && this.#isLive(removed.deadline, this.#clock.now());
    });
  }

  async listAppendUnique<T extends object>(
    key: string,
    items: T[],
    options?: ListAppendOptions,
  ): Promise<T[]> {
    return this.#run("listAppendUnique", () => {
      assertKey("listAppendUnique", key);
      // Checked and encoded before the transaction: a bad item never takes the lock.
      const append = prepareListAppend("listAppendUnique", items, options);
      return this.#appendTx(key, append) as T[];
    });
  }

  async listPopAll<T = JsonValue>(key: string): Promise<T[]> {
    return this.#run("listPopAll", () => {
      assertKey("listPopAll", key);
      return this.#popTx(key) as T[];
    });
  }

  async mget<T = JsonValue>(keys: string[]): Promise<(T | undefined)[]> {
    return this.#run("mget", () => {
      assertKeys("mget", keys);
      return this.#mgetTx(keys) as (T | undefined)[];
    });
  }

  async mset(entries: Entries, options?: TtlOption): Promise<void> {
    this.#run("mset", () => {
      const ttlMs = ttlFromOptions("mset", options);
      // Every pair is checked and encoded before the first write: all or nothing.
      this.#msetTx(encodeEntries("mset", entries, this.#maxValueBytes), ttlMs);
    });
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    return this.#run("expire", () => {
      assertKey("expire", key);
      const ttlMs = ttlToMs("expire", ttlSeconds);
      const now = this.#clock.now();
      return this.#sql.setDeadline.run(now + ttlMs, encodeKey(key), now).changes > 0;
    });
  }

  async purgeExpired(limit?: number): Promise<number> {
    return this.#run("purgeExpired", () => {
      const max = resolveLimit("purgeExpired", limit, DEFAULT_PURGE_LIMIT);
      return this.#sql.purge.run(this.#clock.now(), max).changes;
    });
  }

  async exists(key: string): Promise<boolean> {
    return this.#run("exists", () => {
      assertKey("exists", key);
      return this.#live(encodeKey(key), this.#clock.now()) !== undefined;
    });
  }

  async ttl(key: string): Promise<number | undefined> {
    return this.#run("ttl", () => {
      assertKey("ttl", key);
      const now = this.#clock.now();
      const row = this.#live(encodeKey(key), now);
      return row === undefined ? undefined : secondsLeft(row.deadline ?? NO_DEADLINE, now);
    });
  }

  async incr(key: string, amount?: number, options?: TtlOption): Promise<number> {
    return this.#run("incr", () => {
      assertKey("incr", key);
      const by = resolveAmount("incr", amount);
      const ttlMs = ttlFromOptions("incr", options);
      return this.#incrTx(key, by, ttlMs);
    });
  }

  async scanPrefix(prefix: string, options?: ScanOptions): Promise<string[]> {
    return this.#run("scanPrefix", () => {
      const scan = resolveScan("scanPrefix", prefix, options);
      const from = encodeKey(scan.prefix);
      const after = scan.after === undefined ? EMPTY : encodeKey(scan.after);
      const upper = prefixUpperBound(from);
      const now = this.#clock.now();
      const keys =
        upper === undefined
          ? this.#sql.scanOpen.all(from, after, now, scan.limit)
          : this.#sql.scanBounded.all(from, after, upper, now, scan.limit);
      return keys.map(decodeKey);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#ownsDb) this.#db.close();
  }

  // ---- the bodies of the transactions: they run with the write lock held ----

  #append(key: string, append: PreparedAppend): unknown[] {
    const k = encodeKey(key);
    const now = this.#clock.now();
    const row = this.#live(k, now);
    const plan = planListAppend("listAppendUnique", key, row?.value, append, this.#maxValueBytes);
    // An empty call on a missing key stores nothing (SPEC.md "Lists").
    if (plan.text === undefined) return [];
    // In place: a TTL passed sets the deadline, none keeps the one the list had.
    const deadline = append.ttlMs === undefined ? (row?.deadline ?? null) : now + append.ttlMs;
    if (plan.added > 0 || deadline !== row?.deadline) this.#sql.upsert.run(k, plan.text, deadline);
    return plan.list;
  }

  #pop(key: string): unknown[] {
    const k = encodeKey(key);
    const row = this.#live(k, this.#clock.now());
    if (row === undefined) return [];
    const list = decodeList("listPopAll", key, row.value);
    this.#sql.remove.run(k);
    return list;
  }

  #increment(key: string, by: number, ttlMs: number | undefined): number {
    const k = encodeKey(key);
    const now = this.#clock.now();
    const row = this.#live(k, now);
    const next = incremented(
      "incr",
      key,
      row === undefined ? undefined : decodeValue(row.value),
      by,
    );
    const deadline = ttlMs === undefined ? (row?.deadline ?? null) : now + ttlMs;
    this.#sql.upsert.run(k, String(next), deadline);
    return next;
  }

  #writeAll(encoded: Map<string, string>, ttlMs: number | undefined): void {
    const deadline = this.#deadline(this.#clock.now(), ttlMs);
    for (const [key, json] of encoded) this.#sql.upsert.run(encodeKey(key), json, deadline);
  }

  #readAll(keys: string[]): unknown[] {
    const now = this.#clock.now();
    return keys.map((key) => {
      const row = this.#live(encodeKey(key), now);
      return row === undefined ? undefined : decodeValue(row.value);
    });
  }

  // ---- helpers ----

  /**
   * Runs one operation: refuses it after `close()`, and turns SQLite's own failures
   * (a locked or unreadable file, a full disk) into KV_UNAVAILABLE with the cause.
   */
  #run<R>(method: string, body: () => R): R {
    if (this.#closed) throw closedError(method);
    try {
      return body();
    } catch (err) {
      if (err instanceof Database.SqliteError) {
        throw new KVError("KV_UNAVAILABLE", `${method}: the SQLite database failed (${err.code})`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** The row of a live key; an expired one is left for the purge (or the next write). */
  #live(k: Buffer, now: number): Row | undefined {
    const row = this.#sql.select.get(k);
    return row !== undefined && this.#isLive(row.deadline, now) ? row : undefined;
  }

  #isLive(deadline: number | null, now: number): boolean {
    return deadline === null || !isExpired(deadline, now);
  }

  /** NULL in the table stands for "no TTL" (Infinity cannot be stored as REAL). */
  #deadline(now: number, ttlMs: number | undefined): number | null {
    return ttlMs === undefined ? null : now + ttlMs;
  }

  /** The stored list of a live row, parsed; KV_WRONG_TYPE (nothing changed) if not an array. */
  #backgroundPurge(batch: number): void {
    try {
      this.#sql.purge.run(this.#clock.now(), batch);
    } catch {
      // A busy or failing database must not crash the process from a timer; the next
      // tick (or an explicit purgeExpired, which does report errors) tries again.
    }
  }
}

function openFile(path: unknown): Database.Database {
  if (typeof path !== "string" || path.length === 0) {
    throw invalidArgument(
      NAME,
      "options.path must be a non-empty file path (or pass options.database)",
      path,
    );
  }
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new KVError(
      "KV_UNAVAILABLE",
      `${NAME}: cannot open the database file ${JSON.stringify(path)}`,
      {
        cause,
      },
    );
  }
  // WAL: readers do not block the writer, and a crash mid-write leaves the last
  // committed state. It does not apply to an in-memory database.
  if (path !== ":memory:") db.pragma("journal_mode = WAL");
  return db;
}
