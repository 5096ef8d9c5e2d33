#!/usr/bin/env node
// Runs the conformance suite (from the built dist/ files) for @kv/memory, @kv/lru and
// @kv/context under every runtime and runner we support, and for @kv/redis (against a
// redis-server it starts on loopback) under Node, Bun and Deno; prints a runtime x
// package table with the tests passed and the wall time of each run. Exits non-zero if
// any run failed or ran no test.
//
//   pnpm test:runtimes   (builds what it needs, then runs this)
//
// Options (environment):
//   RUNTIMES=node20,bun   only these rows (names as in the table)
//   PACKAGES=memory       only these columns
//   EXTRA_VITEST="/tmp/vt2 /tmp/vt3"  also run the vitest installed in each of these
//                         directories (e.g. `npm i vitest@2` in a scratch dir)
// Node 22/24, Bun and Deno come from npm via npx (the npm packages `node`, `bun`, `deno`).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = "scripts/runtimes";
const npx = (...args) => ["npx", ["-y", ...args]];

/** Each row: how to run one test file of scripts/runtimes/ under that runtime. */
const runtimes = [
  ["node20 node:test ESM", ["node", ["--test", `${dir}/node-test.mjs`]]],
  ["node20 node:test CJS", ["node", ["--test", `${dir}/node-test.cjs`]]],
  ["node22 node:test ESM", npx("-p", "node@22", "node", "--test", `${dir}/node-test.mjs`)],
  ["node22 node:test CJS", npx("-p", "node@22", "node", "--test", `${dir}/node-test.cjs`)],
  ["node24 node:test ESM", npx("-p", "node@24", "node", "--test", `${dir}/node-test.mjs`)],
  ["node24 node:test CJS", npx("-p", "node@24", "node", "--test", `${dir}/node-test.cjs`)],
  [
    "vitest 4 (repo)",
    [
      "node",
      [
        join(root, "node_modules/vitest/vitest.mjs"),
        "run",
        "--globals",
        "--root",
        dir,
        "vitest-globals",
      ],
    ],
  ],
  ["bun 1.4 bun:test", npx("bun@1.4", "test", `./${dir}/bun.test.mjs`)],
  // --no-check: deno type-checks the packages' .d.ts chunks otherwise; this is a run of
  // the JavaScript. Deno runs node:test's describe/it as its own test steps.
  ["deno 2.9 node:test", npx("deno@2.9", "test", "-A", "--no-check", `${dir}/node-test.mjs`)],
];
for (const scratch of (process.env.EXTRA_VITEST ?? "").split(/\s+/).filter(Boolean)) {
  const bin = join(scratch, "node_modules/vitest/vitest.mjs");
  if (!existsSync(bin)) throw new Error(`EXTRA_VITEST: no vitest in ${scratch}`);
  const version = JSON.parse(
    spawnSync(
      "node",
      ["-p", `JSON.stringify(require("${scratch}/node_modules/vitest/package.json").version)`],
      {
        encoding: "utf8",
      },
    ).stdout,
  );
  runtimes.push([
    `vitest ${version}`,
    ["node", [bin, "run", "--globals", "--root", dir, "vitest-globals"]],
  ]);
}

/**
 * How many tests passed, from each runner's summary: node:test `# pass N` (`ℹ pass N` on
 * Node 24), bun `N pass`,
 * vitest `Tests  N passed`, deno `N passed (M steps)` (its steps are the suite's tests).
 */
function passedCount(output) {
  // Colour codes: ESC [ … m (ESC written as a string, so the pattern holds no control character).
  const text = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
  const patterns = [
    /^(?:#|\u2139) pass (\d+)/m, // node:test: TAP "# pass N", or "ℹ pass N" (Node 24's reporter)
    /^\s*(\d+) pass$/m,
    /Tests\s+(\d+) passed/,
    /\d+ passed \((\d+) steps?\)/,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return Number(match[1]);
  }
  return 0;
}

/**
 * A throwaway redis-server on a free loopback port below the ephemeral range (as
 * tools/redis-harness picks them), without persistence; stopped by pid at the end.
 */
async function startRedis() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 12_000);
    const server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    const ready = await new Promise((resolve) => {
      let log = "";
      server.stdout.on("data", (chunk) => {
        log += chunk;
        if (log.includes("Ready to accept connections")) resolve(true);
      });
      server.once("exit", () => resolve(false));
    });
    if (ready) {
      process.once("exit", () => server.kill("SIGKILL"));
      return { url: `redis://127.0.0.1:${port}`, stop: () => server.kill("SIGTERM") };
    }
  }
  throw new Error("test-runtimes: could not start redis-server (is it installed?)");
}

const only = (list, names) =>
  names ? list.filter(([n]) => names.split(",").some((x) => n.startsWith(x))) : list;
const rows = only(runtimes, process.env.RUNTIMES);
const packages = (process.env.PACKAGES ?? "memory,lru,context,redis").split(",");
// @kv/redis runs against a real server: Bun and Deno (its new runtimes) and Node 20.
const REDIS_RUNTIMES = /^(node20 node:test ESM|bun|deno)/;
const redis = packages.includes("redis") ? await startRedis() : undefined;

const results = [];
let failed = 0;
for (const [name, [command, args]] of rows) {
  const cells = [];
  for (const pkg of packages) {
    if (pkg === "redis" && !REDIS_RUNTIMES.test(name)) {
      cells.push("-");
      continue;
    }
    const started = Date.now();
    const run = spawnSync(command, args, {
      cwd: root,
      env: {
        ...process.env,
        KV_PACKAGE: pkg,
        KV_REDIS_URL: redis?.url ?? "",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
      encoding: "utf8",
      timeout: 600_000,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const tests = passedCount(`${run.stdout ?? ""}${run.stderr ?? ""}`);
    // A runner that found no test exits 0 too: a pass needs tests that passed.
    const ok = run.status === 0 && tests > 0;
    if (!ok) {
      failed++;
      console.error(`--- ${name} / ${pkg}: exit ${run.status ?? run.signal}`);
      console.error(`${run.stdout ?? ""}${run.stderr ?? ""}`.split("\n").slice(-60).join("\n"));
    }
    cells.push(`${ok ? `${tests} passed` : "FAIL"}, ${seconds} s`);
    console.error(`${name} / ${pkg}: ${ok ? `${tests} passed` : "FAIL"} (${seconds} s)`);
  }
  results.push([name, ...cells]);
}

redis?.stop();

console.log(`\n| runtime | ${packages.map((p) => `@kv/${p}`).join(" | ")} |`);
console.log(`| --- |${packages.map(() => " --- |").join("")}`);
for (const row of results) console.log(`| ${row.join(" | ")} |`);
process.exit(failed === 0 ? 0 : 1);
