// What the conformance suite cannot know about this adapter: that it is durable, that
// its SQL uses the indexes it claims, and how it behaves next to other connections.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isKVError, ManualClock } from "@kv/core";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeKey, encodeKey, prefixUpperBound } from "../src/keys.js";
import { SQL } from "../src/schema.js";
import { SqliteBackend } from "../src/sqlite-backend.js";

// The worker processes are TypeScript, run with `node --import tsx`, which resolves tsx
// from the child's working directory: this package's, where tsx is a devDependency.
const tsxHome = fileURLToPath(new URL("..", import.meta.url));
let dir: string;
let file: string;
const open: SqliteBackend[] = [];

function backend(
  options: Partial<ConstructorParameters<typeof SqliteBackend>[0]> = {},
): SqliteBackend {
  const kv = new SqliteBackend({ path: file, purgeIntervalSeconds: false, ...options });
  open.push(kv);
  return kv;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kv-sqlite-"));
  file = join(dir, "kv.db");
});

afterEach(async () => {
  for (const kv of open.splice(0)) await kv.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("durability", () => {
  it("keeps values, lists, counters and TTLs across a reopen of the file", async () => {
    const clock = new ManualClock(1_000);
    const first = backend({ clock });
    await first.set("config", { theme: "dark", sizes: [1, 2] });
    await first.listAppendUnique("inbox", [{ id: "a" }, { id: "b" }], { ttlSeconds: 60 });
    await first.incr("visits", 5);
    await first.set("short", 1, { ttlSeconds: 1 });
    await first.close();

    clock.advance(2_000);
    const second = backend({ clock });
    expect(await second.get("config")).toEqual({ theme: "dark", sizes: [1, 2] });
    expect(await second.listPopAll("inbox")).toEqual([{ id: "a" }, { id: "b" }]);
    expect(await second.incr("visits")).toBe(6);
    expect(await second.get("short")).toBeUndefined();
    expect(await second.purgeExpired()).toBe(1);
  });

  it("stores the JSON text as it is, readable from the sqlite3 shell", async () => {
    const kv = backend();
    await kv.set("user:1", { name: "Ada" });
    const db = new Database(file, { readonly: true });
    const row = db.prepare("SELECT value FROM kv_entries").get() as { value: string };
    db.close();
    expect(row.value).toBe('{"name":"Ada"}');
  });
});

describe("keys", () => {
  it("round-trips any well-formed key through its stored form", () => {
    for (const key of ["a", "__proto__", "日本", "😀", "\u{10FFFF}", "a\u0000b"]) {
      expect(decodeKey(encodeKey(key))).toBe(key);
    }
  });

  it("orders keys by UTF-16 code units, as JavaScript does, not by UTF-8", async () => {
    const kv = backend();
    const keys = ["\uFFFD", "😀", "\uE000", "z", "a"];
    await kv.mset(keys.map((k) => [k, 1] as const));
    expect(await kv.scanPrefix("")).toEqual([...keys].sort());
    // In UTF-8 (SQLite's TEXT order) 😀 would come after U+FFFD.
    expect([...keys].sort()).toEqual(["a", "z", "😀", "\uE000", "\uFFFD"]);
  });

  it("computes the smallest bound above every extension of a prefix", () => {
    expect(prefixUpperBound(Buffer.from([0x00, 0x61]))).toEqual(Buffer.from([0x00, 0x62]));
    expect(prefixUpperBound(Buffer.from([0x00, 0xff]))).toEqual(Buffer.from([0x01]));
    expect(prefixUpperBound(Buffer.from([0xff, 0xff]))).toBeUndefined();
    expect(prefixUpperBound(Buffer.alloc(0))).toBeUndefined();
  });

  it("scans prefixes that end in U+FFFF and other high code units", async () => {
    const kv = backend();
    await kv.mset([
      ["\uFFFF", 1],
      ["\uFFFFa", 2],
      ["\uFFFF\uFFFF", 3],
      ["\uFFFE", 4],
    ]);
    expect(await kv.scanPrefix("\uFFFF")).toEqual(["\uFFFF", "\uFFFFa", "\uFFFF\uFFFF"]);
  });
});

describe("query plans", () => {
  function plan(sql: string, ...params: unknown[]): string {
    const db = new Database(file, { readonly: true });
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    db.close();
    return rows.map((r) => r.detail).join("\n");
  }

  it("purges through the deadline index, not a table scan", async () => {
    await backend().set("k", 1);
    expect(plan(SQL.purge, 0, 10)).toContain(
      "SEARCH kv_entries USING COVERING INDEX kv_entries_deadline (deadline<?)",
    );
  });

  it("scans a prefix as a range of the primary key", async () => {
    await backend().set("k", 1);
    const key = Buffer.from([0, 0x61]);
    expect(plan(SQL.scanBounded, key, key, key, 0, 10)).toBe(
      "SEARCH kv_entries USING PRIMARY KEY (key>? AND key<?)",
    );
    expect(plan(SQL.scanOpen, key, key, 0, 10)).toBe("SEARCH kv_entries USING PRIMARY KEY (key>?)");
  });
});

describe("purgeExpired", () => {
  it("removes exactly min(limit, expired) rows, the earliest deadlines first", async () => {
    const clock = new ManualClock(0);
    const kv = backend({ clock });
    for (let i = 0; i < 10; i++) await kv.set(`k${i}`, i, { ttlSeconds: i + 1 });
    await kv.set("forever", true);
    clock.advance(5_000); // k0..k4 expired
    expect(await kv.purgeExpired(3)).toBe(3);
    expect(await kv.purgeExpired(3)).toBe(2);
    expect(await kv.purgeExpired()).toBe(0);
    expect(await kv.scanPrefix("")).toEqual(["forever", "k5", "k6", "k7", "k8", "k9"]);
  });
});

describe("connections", () => {
  it("leaves a database it was given open after close()", async () => {
    const db = new Database(":memory:");
    const kv = new SqliteBackend({ database: db, purgeIntervalSeconds: false });
    await kv.set("a", 1);
    await kv.close();
    expect(db.open).toBe(true);
    expect(db.prepare("SELECT count(*) AS n FROM kv_entries").get()).toEqual({ n: 1 });
    db.close();
  });

  it("sees what another connection to the same file wrote", async () => {
    const a = backend();
    const b = backend();
    await a.listAppendUnique("inbox", [{ id: 1 }]);
    await b.listAppendUnique("inbox", [{ id: 1 }, { id: 2 }]);
    expect(await a.listPopAll("inbox")).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await b.exists("inbox")).toBe(false);
  });

  it("rejects with KV_UNAVAILABLE, with the cause, when the file is locked", async () => {
    backend(); // creates the schema
    const holder = new Database(file);
    holder.exec("BEGIN IMMEDIATE");
    // timeout 0: fail at once instead of waiting for the lock (no timing in the test)
    const kv = new SqliteBackend({
      database: new Database(file, { timeout: 0 }),
      purgeIntervalSeconds: false,
    });
    try {
      const err = await kv.incr("n").catch((e: unknown) => e);
      expect(isKVError(err, "KV_UNAVAILABLE")).toBe(true);
      expect((err as Error).message).toBe("incr: the SQLite database failed (SQLITE_BUSY)");
      expect((err as Error).cause).toBeInstanceOf(Database.SqliteError);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect(await kv.incr("n")).toBe(1);
  });
});

describe("options", () => {
  it("rejects a missing path and a bad option with KV_INVALID_ARGUMENT", () => {
    expect(() => new SqliteBackend({})).toThrow(
      "SqliteBackend: options.path must be a non-empty file path (or pass options.database) (got undefined)",
    );
    expect(() => new SqliteBackend({ path: file, maxValueBytes: 0 })).toThrow(/maxValueBytes/);
    expect(() => new SqliteBackend({ path: file, purgeIntervalSeconds: -1 })).toThrow(
      /purgeIntervalSeconds/,
    );
  });

  it("fails with KV_UNAVAILABLE when the file cannot be opened", () => {
    let caught: unknown;
    try {
      new SqliteBackend({ path: join(dir, "missing-dir", "kv.db") });
    } catch (err) {
      caught = err;
    }
    expect(isKVError(caught, "KV_UNAVAILABLE")).toBe(true);
  });
});

describe("several processes on one file", () => {
  it("pops every appended item exactly once", async () => {
    backend(); // creates the file and its schema before the workers race for it
    const workers = ["p1", "p2", "p3"];
    const perWorker = 300;
    const outputs = await Promise.all(
      workers.map((name) => runWorker(name, perWorker, workers.length)),
    );
    const popped = outputs.flatMap((out) => JSON.parse(out) as string[]);
    const leftover = (await backend().listPopAll<{ id: string }>("inbox")).map((item) => item.id);
    const all = [...popped, ...leftover];
    const expected = workers.flatMap((name) =>
      Array.from({ length: perWorker }, (_, i) => `${name}-${i}`),
    );
    expect(all.length).toBe(expected.length);
    expect(new Set(all)).toEqual(new Set(expected));
  }, 60_000);
});

function runWorker(name: string, count: number, of: number): Promise<string> {
  const worker = fileURLToPath(new URL("./fixtures/inbox-worker.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", worker, file, name, String(count), String(of)],
      { cwd: tsxHome },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${name} failed: ${stderr}`, { cause: err })) : resolve(stdout),
    );
  });
}
