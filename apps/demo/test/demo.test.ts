// Runs the demo as a user would (`node --import tsx src/main.ts`) on each backend, and
// asserts it met every expectation: exit code 0.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type RedisServer, redisCommand, requireRedisOrSkip, startRedis } from "@kv/redis-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const demoDir = fileURLToPath(new URL("..", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(kvUrl: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/main.ts"],
      { cwd: demoDir, env: { ...process.env, KV_URL: kvUrl }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function expectSuccess(run: Run): void {
  // On failure, the demo's own report says which expectation failed.
  expect(run.stdout + run.stderr).toContain("All expectations met.");
  expect(run.stdout).not.toContain("✘");
  expect(run.code).toBe(0);
}

describe("the demo", () => {
  it("passes on memory://", async () => {
    const run = await runDemo("memory://");
    expectSuccess(run);
    expect(run.stdout).toContain("kv demo: KV_URL=memory://");
  }, 60_000);

  it("passes on lru://", async () => {
    expectSuccess(await runDemo("lru://?max=10000"));
  }, 60_000);

  it("exits non-zero on a bad KV_URL, without showing the password", async () => {
    const run = await runDemo("redis://user:hunter2@127.0.0.1:1?colour=red");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("unknown option for redis://");
    expect(run.stdout + run.stderr).not.toContain("hunter2");
  }, 60_000);
});

const redis = requireRedisOrSkip();

describe.skipIf(!redis.available)("the demo on redis://", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("passes on a server that already holds other data, and leaves that data alone", async () => {
    await redisCommand(server.port, "SET", "someone-else:key", "keep me");
    expectSuccess(await runDemo(`redis://127.0.0.1:${server.port}?prefix=demo-test:`));
    expect(await redisCommand(server.port, "GET", "someone-else:key")).toBe("keep me");
    // The demo cleans up after itself: nothing of its own is left under its prefix.
    expect(await redisCommand(server.port, "KEYS", "demo-test:*")).toEqual([]);
  }, 60_000);
});
