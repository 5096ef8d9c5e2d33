import {
  type Clock,
  DEFAULT_PURGE_LIMIT,
  decodeList,
  incremented,
  invalidArgument,
  isExpired,
  KVError,
  KVStore,
  keepOrSetDeadline,
  NO_DEADLINE,
  type PreparedAppend,
  planListAppend,
  type ResolvedScan,
  resolveLimit,
  ttlToMs,
} from "@kv/core/adapter";
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
 *
 * ## The front door
 * `KVStore` (from `@kv/core/adapter`) is the public API: it checks every argument,
 * encodes values to JSON text, turns TTLs into whole milliseconds and refuses calls
 * after `close()`. This class only implements the engine, the `_` methods. Waiting pops
 * poll (`wakeups: "polling"`): another process may append to the file, and SQLite
 * cannot tell this one.
 */
export class SqliteBackend extends KVStore {
  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #sql: Statements;
  readonly #clock: Clock;
  #timer: ReturnType<typeof setInterval> | undefined;

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
    super({ name: NAME, maxValueBytes: options.maxValueBytes, wakeups: "polling" });
    this.#clock = options.clock ?? wallClock;
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

  protected _get(key: string): string | undefined {
    return this.#run("get", () => this.#live(encodeKey(key), this.#clock.now())?.value);
  }

  protected override _mget(keys: string[]): (string | undefined)[] {
    return this.#run("mget", () => this.#mgetTx(keys));
  }

  protected _set(key: string, json: string, ttlMs: number | undefined): void {
    this.#run("set", () => {
      this.#sql.upsert.run(encodeKey(key), json, this.#deadline(this.#clock.now(), ttlMs));
    });
  }

  protected _mset(entries: Map<string, string>, ttlMs: number | undefined): void {
    this.#run("mset", () => this.#msetTx(entries, ttlMs));
  }

  protected _delete(key: string): boolean {
    return this.#run("delete", () => {
      // An expired row is removed as well, but only a live one counts.
      const removed = this.#sql.remove.get(encodeKey(key));
      return removed !== undefined && this.#isLive(removed.deadline, this.#clock.now());
    });
  }

  protected _listAppend(key: string, append: PreparedAppend): unknown[] {
    return this.#run("listAppendUnique", () => this.#appendTx(key, append));
  }

  protected _listPop(key: string): unknown[] {
    return this.#run("listPopAll", () => this.#popTx(key));
  }

  protected _expire(key: string, ttlMs: number): boolean {
    return this.#run("expire", () => {
      const now = this.#clock.now();
      return this.#sql.setDeadline.run(now + ttlMs, encodeKey(key), now).changes > 0;
    });
  }

  protected _purgeExpired(limit: number): number {
    return this.#run("purgeExpired", () => this.#sql.purge.run(this.#clock.now(), limit).changes);
  }

  protected _ttl(key: string): number | undefined {
    return this.#run("ttl", () => {
      const now = this.#clock.now();
      const row = this.#live(encodeKey(key), now);
      if (row === undefined) return undefined;
      return row.deadline === null ? NO_DEADLINE : Math.ceil(row.deadline - now);
    });
  }

  protected _incr(key: string, amount: number, ttlMs: number | undefined): number {
    return this.#run("incr", () => this.#incrTx(key, amount, ttlMs));
  }

  protected _scanPrefix(scan: ResolvedScan): string[] {
    return this.#run("scanPrefix", () => {
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

  protected override _close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#ownsDb) this.#db.close();
  }

  // ---- the bodies of the transactions: they run with the write lock held ----

  #append(key: string, append: PreparedAppend): unknown[] {
    const k = encodeKey(key);
    const now = this.#clock.now();
    const row = this.#live(k, now);
    const plan = planListAppend("listAppendUnique", key, row?.value, append, this.maxValueBytes);
    // An empty call on a missing key stores nothing (SPEC.md "Lists").
    if (plan.text === undefined) return [];
    // In place: a TTL passed sets the deadline, none keeps the one the list had.
    const deadline = this.#stored(keepOrSetDeadline(this.#loaded(row), now, append.ttlMs));
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
      row === undefined ? undefined : JSON.parse(row.value),
      by,
    );
    const deadline = this.#stored(keepOrSetDeadline(this.#loaded(row), now, ttlMs));
    this.#sql.upsert.run(k, String(next), deadline);
    return next;
  }

  #writeAll(encoded: Map<string, string>, ttlMs: number | undefined): void {
    const deadline = this.#deadline(this.#clock.now(), ttlMs);
    for (const [key, json] of encoded) this.#sql.upsert.run(encodeKey(key), json, deadline);
  }

  #readAll(keys: string[]): (string | undefined)[] {
    const now = this.#clock.now();
    return keys.map((key) => this.#live(encodeKey(key), now)?.value);
  }

  // ---- helpers ----

  /**
   * Runs one engine call, turning SQLite's own failures (a locked or unreadable file,
   * a full disk) into KV_UNAVAILABLE with the cause.
   */
  #run<R>(method: string, body: () => R): R {
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

  /** A row's deadline as core counts it (`NO_DEADLINE` for none), `undefined` for no row. */
  #loaded(row: Row | undefined): number | undefined {
    return row === undefined ? undefined : (row.deadline ?? NO_DEADLINE);
  }

  /** A deadline as the table stores it: NULL for none. */
  #stored(deadline: number): number | null {
    return deadline === NO_DEADLINE ? null : deadline;
  }

  /** NULL in the table stands for "no TTL" (Infinity cannot be stored as REAL). */
  #deadline(now: number, ttlMs: number | undefined): number | null {
    return ttlMs === undefined ? null : now + ttlMs;
  }

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
