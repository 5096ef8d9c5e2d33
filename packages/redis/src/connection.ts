import { closedError, describeValue, isKVError, KVError } from "@kv/core";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { RedisUrl } from "./url.js";

export type RedisClient = Redis | Cluster;

/**
 * How long to wait before reconnect attempt `times`: 50 ms doubling to a 1 s cap, plus a
 * little jitter so that many clients do not reconnect in lockstep. ioredis's default caps
 * at 5 s, which would keep a backend failing for seconds after its server came back.
 */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 10), 1000) + Math.floor(Math.random() * 50);
}

/**
 * The ioredis settings that give SPEC.md's failure behaviour (see README "Failures"):
 * - `enableOfflineQueue: false`: a command is never parked while disconnected, to be run
 *   later; a call that already failed with KV_UNAVAILABLE must not take effect after the
 *   fact. `Link` waits for the connection itself, bounded by the command timeout.
 * - `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false`: a command in flight
 *   when the connection drops fails at once rather than being sent again on reconnect (a
 *   `listPopAll` sent twice would lose the items the first one popped).
 * - `commandTimeout`, `connectTimeout`: no call waits longer than configured.
 * - `retryStrategy`: reconnect in the background, forever, quickly.
 */
function standaloneOptions(timeouts: Timeouts): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: timeouts.commandMs,
    connectTimeout: timeouts.connectMs,
    retryStrategy: reconnectDelay,
  };
}

export interface Timeouts {
  commandMs: number;
  connectMs: number;
}

/** A client of ours for `url`; `extra` are the caller's ioredis options (ours win). */
export function createClient(
  url: RedisUrl,
  timeouts: Timeouts,
  extra: { redisOptions?: RedisOptions; clusterOptions?: ClusterOptions },
): RedisClient {
  const credentials = {
    ...(url.username === undefined ? {} : { username: url.username }),
    ...(url.password === undefined ? {} : { password: url.password }),
  };
  const base: RedisOptions = url.cluster
    ? { ...extra.redisOptions, ...extra.clusterOptions?.redisOptions }
    : { ...extra.redisOptions };
  // rediss:// passes TLS through, with the caller's `tls` options (a CA, a servername)
  // when given.
  const tls = url.tls ? { tls: base.tls ?? {} } : {};
  if (!url.cluster) {
    const node = url.nodes[0]!;
    return new Redis({
      ...base,
      ...credentials,
      ...tls,
      host: node.host,
      port: node.port,
      ...(url.db === undefined ? {} : { db: url.db }),
      ...standaloneOptions(timeouts),
      retryStrategy: base.retryStrategy ?? reconnectDelay,
    });
  }
  const { enableOfflineQueue: _q, retryStrategy: _r, ...nodeOptions } = standaloneOptions(timeouts);
  const { retryStrategy: _u, enableOfflineQueue: _v, host: _h, port: _p, ...nodeBase } = base;
  return new Cluster(url.nodes, {
    ...extra.clusterOptions,
    enableOfflineQueue: false,
    clusterRetryStrategy: extra.clusterOptions?.clusterRetryStrategy ?? reconnectDelay,
    redisOptions: { ...nodeBase, ...credentials, ...tls, ...nodeOptions },
  });
}

/** Where a caller's client points, for messages: `host:port`s only, never credentials. */
export function describeClient(client: RedisClient): string {
  if (client.isCluster) {
    const nodes = (client as Cluster)
      .nodes("master")
      .map((n) => `${n.options.host}:${n.options.port}`);
    return `cluster ${nodes.length > 0 ? nodes.join(",") : "(not connected yet)"}`;
  }
  const { host, port, path } = (client as Redis).options;
  return path ? path : `${host ?? "127.0.0.1"}:${port ?? 6379}`;
}

function noop(): void {}

/** ioredis's refusals of a command it did not send (offline queue disabled, not connected). */
function isUnsent(err: unknown): boolean {
  return err instanceof Error && err.message.endsWith("enableOfflineQueue options is false");
}

/** ioredis passes the error to "error" listeners and nothing to the status events. */
type Listener = (err: Error) => void;

/**
 * One backend's use of one client: it waits for the connection (bounded), puts a deadline
 * on every command, and turns every failure into a KVError.
 *
 * Waiting is what `enableOfflineQueue: false` leaves to us. A call made while the client
 * is connecting waits for "ready" up to the command timeout. A call made after the last
 * connection attempt failed (the server is down) does not wait: it fails at once with
 * KV_UNAVAILABLE, the connection error as its cause, while the client keeps reconnecting
 * in the background and the next call after it succeeds goes through.
 */
export class Link {
  readonly client: RedisClient;
  readonly #describe: () => string;
  readonly #timeoutMs: number;
  /** Whether our own timer bounds each command (ioredis's `commandTimeout` does otherwise). */
  readonly #ownTimer: boolean;
  readonly #secrets: string[];
  /** The error of the last failed connection attempt, until the next "ready". */
  #down: Error | undefined;
  #readySinceClose: boolean;
  #closed = false;
  readonly #own: boolean;
  readonly #waiters = new Set<() => void>();
  readonly #listeners: [string, Listener][] = [];
  #lastError: Error | undefined;

  constructor(
    client: RedisClient,
    opts: { own: boolean; timeoutMs: number; describe: () => string; secrets: string[] },
  ) {
    this.client = client;
    this.#own = opts.own;
    this.#describe = opts.describe;
    this.#timeoutMs = opts.timeoutMs;
    this.#ownTimer = !opts.own || client.isCluster;
    this.#secrets = opts.secrets.filter((s) => s !== "");
    this.#readySinceClose = client.status === "ready";
    this.#on("ready", () => {
      this.#down = undefined;
      this.#lastError = undefined;
      this.#readySinceClose = true;
      this.#wake();
    });
    this.#on("close", () => {
      if (!this.#readySinceClose) {
        this.#down = this.#lastError ?? new Error(`the connection to ${this.#describe()} closed`);
      }
      this.#readySinceClose = false;
      this.#wake();
    });
    this.#on("end", () => this.#wake());
    // Only on our own client: an "error" listener would silence ioredis's "Unhandled
    // error event" log on a caller's client, which is theirs to configure.
    if (opts.own) this.#on("error", (err: Error) => (this.#lastError = err));
  }

  #on(event: string, fn: Listener): void {
    this.client.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /**
   * Runs one round trip. `send` issues the command(s); `key` names the key in a
   * KV_WRONG_TYPE message when Redis answers WRONGTYPE.
   */
  run<T>(method: string, send: () => Promise<T>, key?: string): Promise<T> {
    if (this.#closed || this.client.status !== "ready")
      return this.#runWhenReady(method, send, key);
    // The hot path: no extra async frame, no timer when ioredis's commandTimeout bounds it.
    let sent: Promise<T>;
    try {
      sent = this.#ownTimer ? this.#bounded(send(), this.#timeoutMs) : send();
    } catch (err) {
      return Promise.reject(this.#toKVError(method, err, key));
    }
    return sent.catch((err: unknown) => {
      // The connection dropped a moment ago and ioredis refused to queue the command:
      // it was never sent, so it can wait for the reconnection like any later call.
      if (isUnsent(err)) return this.#runWhenReady(method, send, key);
      throw this.#toKVError(method, err, key);
    });
  }

  /** `run` when not connected (yet, or any more): wait for "ready", all within the timeout. */
  async #runWhenReady<T>(method: string, send: () => Promise<T>, key?: string): Promise<T> {
    try {
      const deadline = Date.now() + this.#timeoutMs;
      await this.#whenReady(method, deadline);
      return await this.#bounded(send(), deadline - Date.now());
    } catch (err) {
      throw this.#toKVError(method, err, key);
    }
  }

  /** Waits (bounded) until the client is ready, as `run` does before its command. */
  async ready(method: string): Promise<void> {
    try {
      if (this.#closed) throw closedError(method);
      if (this.client.status !== "ready")
        await this.#whenReady(method, Date.now() + this.#timeoutMs);
    } catch (err) {
      throw this.#toKVError(method, err, undefined);
    }
  }

  /** Resolves once the client is ready; rejects if it is down, closed, or past `deadline`. */
  async #whenReady(method: string, deadline: number): Promise<void> {
    for (;;) {
      if (this.#closed) throw closedError(method);
      const status = this.client.status;
      if (status === "ready" && this.#writable()) return;
      if (status === "end") throw new Error(`the client of ${this.#describe()} is closed`);
      if (this.#down !== undefined) throw this.#down;
      // A caller's lazyConnect client connects on its first command; we never send one
      // before "ready", so start it.
      if (status === "wait") this.client.connect().catch(noop);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no connection to ${this.#describe()} within ${this.#timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /**
   * Between the socket ending and ioredis's "close" handler the status still reads
   * "ready"; the stream tells. (A cluster routes per node and has no stream of its own.)
   */
  #writable(): boolean {
    return this.client.isCluster || (this.client as Redis).stream?.writable !== false;
  }

  #bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no reply from ${this.#describe()} within ${this.#timeoutMs} ms`)),
        Math.max(ms, 0),
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #toKVError(method: string, err: unknown, key: string | undefined): KVError {
    if (isKVError(err)) return err;
    const cause = this.#sanitized(err);
    const message = this.#redact(cause instanceof Error ? cause.message : String(cause));
    if (message.startsWith("WRONGTYPE")) {
      return new KVError(
        "KV_WRONG_TYPE",
        `${method}: the value at ${describeValue(key)} is not a kv value (Redis holds another type there)`,
        { cause },
      );
    }
    // A server-side refusal (OOM, READONLY, NOPERM, CLUSTERDOWN, a script error) is as
    // much "cannot be served" as a lost connection: both are KV_UNAVAILABLE.
    const refused = cause instanceof Error && cause.name === "ReplyError";
    return new KVError(
      "KV_UNAVAILABLE",
      `${method}: Redis at ${this.#describe()} ${refused ? "refused the command" : "is unavailable"} (${message})`,
      { cause },
    );
  }

  #redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join("***");
    return out;
  }

  /**
   * The error to attach as `cause`. ioredis attaches the failed command to reply errors:
   * for AUTH or HELLO its arguments hold the password, so such an error (or any whose
   * message holds a secret) is replaced by a plain copy of its redacted message.
   */
  #sanitized(err: unknown): unknown {
    if (!(err instanceof Error)) return err;
    const command = (err as { command?: { name?: unknown } }).command;
    const name = typeof command?.name === "string" ? command.name.toLowerCase() : "";
    const leaks = name === "auth" || name === "hello" || this.#redact(err.message) !== err.message;
    if (!leaks) return err;
    const copy = new Error(this.#redact(err.message));
    copy.name = err.name;
    return copy;
  }

  /** Stops using the client: listeners removed, waiting calls woken (they see KV_CLOSED). */
  detach(): void {
    this.#closed = true;
    for (const [event, fn] of this.#listeners) this.client.off(event, fn);
    this.#listeners.length = 0;
    // Our own client may still report a late error (a timed-out handshake) after close:
    // swallow it rather than let ioredis print "Unhandled error event".
    if (this.#own) this.client.on("error", noop);
    this.#wake();
  }
}

/** Closes a client of ours: QUIT when connected (in-flight commands finish), else disconnect. */
export async function closeClient(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === "ready") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      client.quit().catch(noop),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
  client.disconnect();
}
