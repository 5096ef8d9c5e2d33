import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "tsup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { deployments, haveRedis, uniquePrefix } from "./helpers.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const WORKERS = 4;
const PER_WORKER = 250;

/**
 * The workers are plain Node processes: they import a bundle of src/ built here (no
 * dist needed, no TypeScript loader), kept inside the package so that it resolves ioredis
 * and @kv/core from the package's node_modules.
 */
let outDir: string;
let bundle: string;
beforeAll(async () => {
  if (!haveRedis) return;
  outDir = mkdtempSync(join(root, "node_modules", ".exactly-once-"));
  await build({
    entry: { backend: join(root, "src/index.ts") },
    format: ["esm"],
    outDir,
    dts: false,
    silent: true,
    config: false,
    target: "node20",
  });
  bundle = pathToFileURL(join(outDir, "backend.js")).href;
});
afterAll(() => {
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

function runWorker(args: string[]): Promise<{ worker: number; popped: string[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(root, "test/fixtures/inbox-worker.mjs"), ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`worker failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

describe.skipIf(!haveRedis).each(deployments)(
  "exactly once across processes ($name)",
  ({ url }) => {
    it(`${WORKERS} processes append to and pop one inbox: every item is popped exactly once`, async () => {
      const prefix = uniquePrefix("once");
      const results = await Promise.all(
        Array.from({ length: WORKERS }, (_, w) =>
          runWorker([bundle, url(), prefix, String(w), String(WORKERS), String(PER_WORKER)]),
        ),
      );
      const kv = new RedisBackend({ url: url(), prefix });
      const leftover = await kv.listPopAll<{ id: string }>("inbox");
      await kv.close();
      expect(leftover).toEqual([]);

      const popped = results.flatMap((r) => r.popped);
      const expected = Array.from({ length: WORKERS }, (_, w) =>
        Array.from({ length: PER_WORKER }, (_, i) => `${w}-${i}`),
      ).flat();
      expect(popped.length).toBe(expected.length); // no item popped twice
      expect(new Set(popped)).toEqual(new Set(expected)); // and none lost
      // Every process popped something: the pops really raced.
      expect(results.filter((r) => r.popped.length > 0).length).toBeGreaterThan(1);
    });
  },
);
