/**
 * Throwaway `redis-server` processes for tests, the demo and the benchmarks: a standalone
 * server or an N-master cluster on free loopback ports, each in its own temp directory,
 * without persistence, stopped by pid (and killed when this process exits, so a crashed
 * test run leaves nothing behind).
 *
 * It talks to the servers over raw RESP (see `redisCommand`) so that it depends on
 * nothing but Node: the code under test brings its own client.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

const HOST = "127.0.0.1";
const POLL_MS = 20;
const STARTUP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;
/** What redis-server writes to its log once it accepts connections. */
const READY_LINE = "Ready to accept connections";

// ---------------------------------------------------------------------------------------
// Discovery

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** True when `redis-server` is on PATH. */
export function redisServerAvailable(): boolean {
  return onPath("redis-server");
}

/**
 * For test files: whether the Redis tests can run. Without a `redis-server` the result is
 * `available: false` and a loud banner on stderr, so the caller can `describe.skipIf`;
 * with `CI=true` a missing server throws instead: the suite must never skip silently in CI.
 */
export function requireRedisOrSkip(): { available: boolean; reason?: string } {
  if (redisServerAvailable()) return { available: true };
  const reason = "redis-server is not on PATH (install it: apt-get install -y redis-server)";
  if (process.env.CI === "true") {
    throw new Error(`CI=true but ${reason}: the Redis tests must run in CI.`);
  }
  const bar = "!".repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING the Redis tests: ${reason}.\n!! They run (and must pass) in CI.\n${bar}\n`,
  );
  return { available: false, reason };
}

// ---------------------------------------------------------------------------------------
// Ports
//
// Several test files, and several packages' test runs, start servers at the same time.
// Two rules keep them from colliding:
// - Ports come from 10000..22767, below Linux's ephemeral range (32768..60999), so no
//   outgoing connection of any process is ever given one of them; a cluster node's bus
//   port (`port + 10000`) stays below that range too.
// - A port that looked free can still be taken by someone else before the server binds
//   it. The server then exits with "Address already in use" in its own log, and the
//   caller starts it again on another port (see `startRedis`). A server is only taken
//   as up once its own log says so: a PING could be answered by a stranger's server.

const PORT_LOW = 10_000;
const PORT_HIGH = 22_767;
const BUS_OFFSET = 10_000;
/** Ports this process handed out already (and their bus ports), never handed out twice. */
const handedOut = new Set<number>();

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port that is free right now, and whose cluster bus port is free too. Not
 * a promise that it stays free: whoever binds it must be ready to try another.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW + 1));
    if (handedOut.has(port) || handedOut.has(port + BUS_OFFSET)) continue;
    if (!(await tryListen(port)) || !(await tryListen(port + BUS_OFFSET))) continue;
    handedOut.add(port);
    handedOut.add(port + BUS_OFFSET);
    return port;
  }
  throw new Error("redis-harness: could not find a free loopback port");
}

// ---------------------------------------------------------------------------------------
// A minimal RESP client: one command, one reply

type Reply = string | number | null | Reply[];

class ReplyParser {
  #buf = "";
  push(chunk: string): void {
    this.#buf += chunk;
  }
  /** The next complete reply, or `undefined` when more bytes are needed. */
  next(): { value: Reply } | undefined {
    const r = this.#parse(0);
    if (r === undefined) return undefined;
    this.#buf = this.#buf.slice(r.end);
    return { value: r.value };
  }
  #parse(at: number): { value: Reply; end: number } | undefined {
    const eol = this.#buf.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const type = this.#buf[at];
    const line = this.#buf.slice(at + 1, eol);
    switch (type) {
      case "+":
        return { value: line, end: eol + 2 };
      case "-":
        throw new Error(line);
      case ":":
        return { value: Number(line), end: eol + 2 };
      case "$": {
        const n = Number(line);
        if (n < 0) return { value: null, end: eol + 2 };
        // Bulk lengths are in bytes; the replies this harness reads are ASCII.
        if (this.#buf.length < eol + 2 + n + 2) return undefined;
        return { value: this.#buf.slice(eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
      }
      case "*": {
        const n = Number(line);
        if (n < 0) return { value: null, end: eol + 2 };
        const items: Reply[] = [];
        let end = eol + 2;
        for (let i = 0; i < n; i++) {
          const r = this.#parse(end);
          if (r === undefined) return undefined;
          items.push(r.value);
          end = r.end;
        }
        return { value: items, end };
      }
      default:
        throw new Error(
          `redis-harness: unexpected reply ${JSON.stringify(this.#buf.slice(at, eol))}`,
        );
    }
  }
}

/**
 * Sends one command to `127.0.0.1:port` on a fresh connection and resolves with the reply
 * (an error reply rejects). For test plumbing (FLUSHALL, CLIENT KILL, SCRIPT FLUSH, INFO),
 * not for the code under test.
 */
export function redisCommand(port: number, ...args: (string | number)[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: HOST });
    const parser = new ReplyParser();
    const done = (err: Error | undefined, value?: Reply) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    socket.setEncoding("utf8");
    socket.setTimeout(STARTUP_TIMEOUT_MS, () =>
      done(new Error("redis-harness: command timed out")),
    );
    socket.once("error", (err) => done(err));
    // SHUTDOWN, CLIENT KILL of itself, a crash: the server closes without a reply.
    socket.once("close", () => done(new Error("redis-harness: connection closed before a reply")));
    socket.on("data", (chunk: string) => {
      parser.push(chunk);
      try {
        const reply = parser.next();
        if (reply !== undefined) done(undefined, reply.value);
      } catch (err) {
        done(err as Error);
      }
    });
    const parts = args.map(String);
    let frame = `*${parts.length}\r\n`;
    for (const p of parts) frame += `$${Buffer.byteLength(p)}\r\n${p}\r\n`;
    socket.write(frame);
  });
}

// ---------------------------------------------------------------------------------------
// Processes and cleanup

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let cleanupInstalled = false;

/** Kills every server still running and removes the temp dirs: on exit or a fatal signal. */
function cleanupNow(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once("exit", cleanupNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      cleanupNow();
      // Re-raise for the default action, unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, "redis.log"), "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Spawns `redis-server` on `port` in `dir` and resolves once its log says it is ready. */
async function spawnServer(port: number, dir: string, extraArgs: string[]): Promise<ChildProcess> {
  installCleanup();
  // A restart appends to the same log: start it empty so an old ready line cannot count.
  rmSync(join(dir, "redis.log"), { force: true });
  const args = [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    join(dir, "redis.log"),
    "--daemonize",
    "no",
    ...extraArgs,
  ];
  const child = spawn("redis-server", args, { stdio: "ignore" });
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    // Our server's own log, not a PING: a PING could reach a stranger's server on the port.
    if (readLog(dir).includes(READY_LINE)) return child;
    await sleep(POLL_MS);
  }
  const log = readLog(dir);
  if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  await waitForExit(child, STOP_TIMEOUT_MS);
  throw new StartupError(
    `redis-harness: redis-server on ${HOST}:${port} did not start within ${STARTUP_TIMEOUT_MS} ms. Its log:\n${log}`,
    /address already in use/i.test(log),
  );
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  if (await waitForExit(child, STOP_TIMEOUT_MS)) return;
  try {
    process.kill(child.pid, "SIGKILL");
  } catch {
    return;
  }
  await waitForExit(child, STOP_TIMEOUT_MS);
}

// ---------------------------------------------------------------------------------------
// Standalone

export interface RedisServer {
  host: "127.0.0.1";
  port: number;
  /** The pid of the current process (changes on `restart`). */
  pid: number;
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would: clients see the connection drop. The directory stays for `restart`. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** A fixed port; default: a free one. */
  port?: number;
  /** More `redis-server` arguments, e.g. `["--requirepass", "secret"]`. */
  args?: string[];
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "kv-redis-"));
  dirs.add(dir);
  const extra = opts.args ?? [];
  let child: ChildProcess | undefined;
  let port = opts.port ?? 0;
  for (let attempt = 0; child === undefined; attempt++) {
    if (opts.port === undefined) port = await freePort();
    try {
      child = await spawnServer(port, dir, extra);
    } catch (err) {
      // Someone took the port between our probe and the server's bind: try another.
      const retry = err instanceof StartupError && err.portInUse && opts.port === undefined;
      if (!retry || attempt >= 20) {
        rmSync(dir, { recursive: true, force: true });
        dirs.delete(dir);
        throw err;
      }
    }
  }

  let current: ChildProcess = child;
  let stopped = false;
  const server: RedisServer = {
    host: HOST,
    port,
    pid: current.pid!,
    url: `redis://${HOST}:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(current, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
    async kill() {
      await stopChild(current, "SIGKILL");
    },
    async restart() {
      if (stopped) throw new Error("redis-harness: restart() after stop()");
      await stopChild(current, "SIGTERM");
      // The port was ours a moment ago; a server rebinds it at once (SO_REUSEADDR), but
      // give a racing process a few chances to let go.
      for (let attempt = 0; ; attempt++) {
        try {
          current = await spawnServer(port, dir, extra);
          break;
        } catch (err) {
          if (!(err instanceof StartupError && err.portInUse) || attempt >= 10) throw err;
          await sleep(100);
        }
      }
      server.pid = current.pid!;
    },
  };
  return server;
}

// ---------------------------------------------------------------------------------------
// Cluster

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...` */
  url: string;
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(`${command} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`),
        );
      else resolve(stdout);
    });
  });
}

async function clusterOk(port: number): Promise<boolean> {
  try {
    const info = await redisCommand(port, "CLUSTER", "INFO");
    return typeof info === "string" && info.includes("cluster_state:ok");
  } catch {
    return false;
  }
}

export interface StartRedisClusterOptions {
  /** Default 3 (at least 3). */
  masters?: number;
  /** Replicas per master (`--cluster-replicas`); default 0. */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over. Default 5000. */
  nodeTimeoutMs?: number;
  /** More `redis-server` arguments for every node. */
  args?: string[];
}

/**
 * `masters` (default 3) cluster nodes, each with `replicas` replicas (default none), all
 * 16384 slots assigned, ready (`cluster_state:ok` on every node) when this resolves.
 */
export async function startRedisCluster(
  opts: StartRedisClusterOptions = {},
): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`redis-harness: a cluster needs at least 3 masters (got ${masters})`);
  }
  const replicas = opts.replicas ?? 0;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`redis-harness: replicas must be an integer >= 0 (got ${replicas})`);
  }
  const servers: RedisServer[] = [];
  const stopAll = () => Promise.all(servers.map((s) => s.stop())).then(() => undefined);
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      // No fixed port: a node that loses its port (or bus port) to a race starts again
      // on another; `freePort` checked the bus port too.
      servers.push(
        await startRedis({
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            String(opts.nodeTimeoutMs ?? 5000),
            ...(opts.args ?? []),
          ],
        }),
      );
    }
    const addresses = servers.map((s) => `${HOST}:${s.port}`);
    await run("redis-cli", [
      "--cluster",
      "create",
      ...addresses,
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      const states = await Promise.all(servers.map((s) => clusterOk(s.port)));
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) {
        throw new Error(
          `redis-harness: the cluster ${addresses.join(",")} did not reach cluster_state:ok`,
        );
      }
      await sleep(POLL_MS);
    }
    return {
      nodes: servers.map((s) => ({ host: HOST, port: s.port })),
      url: `redis-cluster://${addresses.join(",")}`,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
