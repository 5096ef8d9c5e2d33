// The whole kv contract, with one call. Each test gets a fresh database file; the peer
// client the concurrency tests ask for is a second connection to the same file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformanceSuite } from "@kv/core/conformance";
import { afterAll, afterEach, beforeEach, describe, it } from "vitest";
import { SqliteBackend } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "kv-sqlite-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
let lastFile = "";

runConformanceSuite({
  name: "SqliteBackend",
  test: { describe, it, beforeEach, afterEach },
  // Waiting pops by core's polling fallback; a delete takes an expired row.
  capabilities: { clock: "manual", purge: "exact", lazyExpiry: true, waitingPops: "poll" },
  create: ({ clock, maxValueBytes }) => {
    lastFile = join(dir, `kv-${files++}.db`);
    // The background purge runs on a real timer; the suite counts purges itself.
    return new SqliteBackend({ path: lastFile, clock, maxValueBytes, purgeIntervalSeconds: false });
  },
  connectPeer: ({ clock, maxValueBytes }) =>
    new SqliteBackend({ path: lastFile, clock, maxValueBytes, purgeIntervalSeconds: false }),
});
