import type { Database, Statement } from "better-sqlite3";

/**
 * One table, one row per key:
 * - `key`: the key as UTF-16BE bytes (see keys.ts), the primary key; `WITHOUT ROWID`
 *   makes the table itself the key-ordered B-tree, so a prefix scan walks it in order.
 * - `value`: the value's JSON text, exactly what @kv/core's `encodeValue` produced, so
 *   the data stays readable with the `sqlite3` shell.
 * - `deadline`: when the entry expires, in the clock's milliseconds; NULL for no TTL.
 *
 * The partial index on `deadline` holds only entries with a TTL, ordered by deadline:
 * `purgeExpired(limit)` reads the first `limit` rows of it, so its cost follows `limit`,
 * not the size of the table.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv_entries (
  key      BLOB PRIMARY KEY NOT NULL,
  value    TEXT NOT NULL,
  deadline REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_entries_deadline ON kv_entries (deadline) WHERE deadline IS NOT NULL;
`;

export interface Row {
  value: string;
  deadline: number | null;
}

/** Every statement the backend runs, prepared once per connection. */
export interface Statements {
  select: Statement<[Buffer], Row>;
  upsert: Statement<[Buffer, string, number | null]>;
  remove: Statement<[Buffer], { deadline: number | null }>;
  setDeadline: Statement<[number, Buffer, number]>;
  purge: Statement<[number, number]>;
  scanBounded: Statement<[Buffer, Buffer, Buffer, number, number], Buffer>;
  scanOpen: Statement<[Buffer, Buffer, number, number], Buffer>;
}

const LIVE = "(deadline IS NULL OR deadline > ?)";

/** The SQL of every statement, by name (exported for the query-plan tests). */
export const SQL = {
  select: "SELECT value, deadline FROM kv_entries WHERE key = ?",
  upsert: `INSERT INTO kv_entries (key, value, deadline) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, deadline = excluded.deadline`,
  remove: "DELETE FROM kv_entries WHERE key = ? RETURNING deadline",
  setDeadline: `UPDATE kv_entries SET deadline = ? WHERE key = ? AND ${LIVE}`,
  // `deadline <= ?` implies `deadline IS NOT NULL`, so SQLite uses the partial index
  // and stops after `limit` rows of it (test/sqlite.test.ts checks the query plan).
  purge: `DELETE FROM kv_entries WHERE key IN
    (SELECT key FROM kv_entries WHERE deadline <= ? ORDER BY deadline LIMIT ?)`,
  // A range of the primary key: `key >= prefix AND key < upper bound`, strictly after
  // `after`. Dead rows in the range are skipped, live ones counted up to the limit.
  scanBounded: `SELECT key FROM kv_entries WHERE key >= ? AND key > ? AND key < ? AND ${LIVE}
    ORDER BY key LIMIT ?`,
  // The same when the prefix has no upper bound (`""`, or only U+FFFF code units).
  scanOpen: `SELECT key FROM kv_entries WHERE key >= ? AND key > ? AND ${LIVE} ORDER BY key LIMIT ?`,
} as const;

export function prepareStatements(db: Database): Statements {
  return {
    select: db.prepare<[Buffer], Row>(SQL.select),
    upsert: db.prepare<[Buffer, string, number | null]>(SQL.upsert),
    remove: db.prepare<[Buffer], { deadline: number | null }>(SQL.remove),
    setDeadline: db.prepare<[number, Buffer, number]>(SQL.setDeadline),
    purge: db.prepare<[number, number]>(SQL.purge),
    scanBounded: db
      .prepare<[Buffer, Buffer, Buffer, number, number], Buffer>(SQL.scanBounded)
      .pluck(),
    scanOpen: db.prepare<[Buffer, Buffer, number, number], Buffer>(SQL.scanOpen).pluck(),
  };
}
