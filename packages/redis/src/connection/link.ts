import { isKVError } from "@kv/core";
import { closedError, describeValue, KVError } from "@kv/core/adapter";
import type { Redis } from "ioredis";
import { noop, type RedisClient } from "./client.js";

/** ioredis's refusals of a command it did not send (offline queue disabled, not connected). */
function isUnsent(err: unknown): boolean {
  return err instanceof Error && err.message.endsWith("enableOfflineQueue options is false");
}

/**
 * Server refusals that pass: a failover under way (READONLY from a demoted master,
 * CLUSTERDOWN, TRYAGAIN, MASTERDOWN) or a server loading its data. The command did not
 * run; it is sent again after a pause, within the call's budget.
 */
const TRANSIENT = /^(READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|BUSY)\b/;

/** What a failed attempt tells about the command. */
type Failure = "unsent" | "refused" | "transient" | "lost";

function failureOf(err: unknown): Failure {
  if (isUnsent(err)) return "unsent";
  if (err instanceof Error && err.name === "ReplyError") {
    return TRANSIENT.test(err.message) ? "transient" : "refused";
  }
  // A dropped connection, a reset, a timeout: the command may or may not have run.
  return "lost";
}

/** ioredis passes the error to "error" listeners and nothing to the status events. */
type Listener = (err: Error) => void;

/** How a call is run: `write` calls carry a request id and may have taken effect when lost. */
export interface RunOptions {
  /** Names the key in a KV_WRONG_TYPE message when Redis answers WRONGTYPE. */
  key?: string;
  /** A write (its KV_UNAVAILABLE says whether it may have taken effect). */
  write?: boolean;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One backend's use of one client: it waits for the connection (bounded), puts a deadline
 * on every call, resends a call whose reply was lost, and turns every failure into a
 * KVError.
 *
 * ## The time budget
 * A call has `timeoutMs` from the moment it is made, for everything: waiting for a
 * connection, each attempt, the pauses between them. A call made after the last
 * connection attempt failed (the server is down) does not wait: it fails at once with
 * KV_UNAVAILABLE, the connection error as its cause, while the client keeps reconnecting
 * in the background. A call whose attempt was lost (a dropped connection, `CLIENT KILL`,
 * a failover) waits for the reconnection and is sent again, within its budget.
 *
 * ## Resending is safe
 * Reads are resent as they are. A write is sent with the same request id every time
 * (its script's idempotency record, exactly-once/side-keys.ts): the server runs it once
 * and answers a resent request with the first one's result. When a write still fails,
 * its KV_UNAVAILABLE says `mayHaveTakenEffect: true` if any attempt may have reached the
 * server, `false` if none was sent or the server refused them all.
 */
export class Link {
  readonly client: RedisClient;
  readonly #describe: () => string;
  readonly #timeoutMs: number;
  /** Whether our own timer bounds a first attempt (ioredis's `commandTimeout` does otherwise). */
  readonly #ownTimer: boolean;
  readonly #secrets: string[];
  /** The error of the last failed connection attempt, until the next "ready". */
  #down: Error | undefined;
  #readySinceClose: boolean;
  #closed = false;
  readonly #own: boolean;
  readonly #waiters = new Set<() => void>();
  readonly #listeners: [string, Listener][] = [];
  readonly #onReady = new Set<() => void>();
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
      for (const fn of this.#onReady) fn();
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

  /** The call budget, in ms. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  get isReady(): boolean {
    return !this.#closed && this.client.status === "ready";
  }

  /** Calls `fn` after every (re)connection; returns the unsubscribe. */
  onReady(fn: () => void): () => void {
    this.#onReady.add(fn);
    return () => this.#onReady.delete(fn);
  }

  #on(event: string, fn: Listener): void {
    this.client.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /**
   * Runs one call: `send` issues the command(s) of one attempt, and is called again
   * (with the same arguments, so the same request id) for each resend. `onReply` turns
   * the reply into the call's result: in the same `then` that catches a failed attempt,
   * one promise fewer than a `then` of the caller's own (every call takes this path).
   */
  run<T>(method: string, send: () => Promise<T>, options?: RunOptions): Promise<T>;
  run<T, R>(
    method: string,
    send: () => Promise<T>,
    options: RunOptions,
    onReply: (reply: T) => R,
  ): Promise<R>;
  run<T, R>(
    method: string,
    send: () => Promise<T>,
    options: RunOptions = {},
    onReply?: (reply: T) => R,
  ): Promise<T | R> {
    const start = performance.now();
    if (this.#closed || this.client.status !== "ready") {
      const result = this.#retry(method, send, options, start, undefined);
      return onReply === undefined ? result : result.then(onReply);
    }
    // The hot path: one attempt, no extra async frame, no timer of ours when ioredis's
    // commandTimeout (the whole budget) bounds it.
    let sent: Promise<T>;
    try {
      sent = this.#ownTimer ? this.#bounded(send(), this.#timeoutMs) : send();
    } catch (err) {
      return Promise.reject(this.#toKVError(method, err, options, false));
    }
    const retry = (err: unknown) => this.#retry(method, send, options, start, err);
    if (onReply === undefined) return sent.catch(retry);
    // A throw in onReply (a reply that is not the result) rejects the call; it is not a
    // failed attempt, so it is not retried.
    return sent.then(onReply, (err: unknown) => retry(err).then(onReply));
  }

  /** The attempts after a failed (or not yet possible) first one, within the budget. */
  async #retry<T>(
    method: string,
    send: () => Promise<T>,
    options: RunOptions,
    start: number,
    firstError: unknown,
  ): Promise<T> {
    const deadline = start + this.#timeoutMs;
    let uncertain = false;
    let pause = 20;
    let err = firstError;
    for (let attempt = firstError === undefined ? 0 : 1; ; attempt++) {
      if (err !== undefined) {
        if (isKVError(err)) throw err;
        const failure = failureOf(err);
        if (failure === "refused") throw this.#toKVError(method, err, options, uncertain);
        if (failure === "lost") uncertain = true;
        if (performance.now() >= deadline) throw this.#toKVError(method, err, options, uncertain);
        // A lost reply is resent at once (after the reconnection); a refusal during a
        // failover, or a second loss in a row, after a growing pause.
        if (failure === "transient" || (failure === "lost" && attempt > 1)) {
          await sleep(Math.min(pause, Math.max(deadline - performance.now(), 0)));
          pause = Math.min(pause * 2, 500);
        }
      }
      try {
        // The first attempt fails at once on a server known to be down; a resend waits
        // for the reconnection (the server may be restarting, or failing over).
        await this.#whenReady(method, deadline, attempt > 0);
        err = undefined;
        return await this.#bounded(send(), deadline - performance.now());
      } catch (e) {
        err = e ?? new Error("unknown failure");
        if (isKVError(err)) throw err;
        // Past the budget while waiting for a connection: nothing more was sent.
        if (err instanceof NoConnection)
          throw this.#toKVError(method, err.cause ?? err, options, uncertain);
      }
    }
  }

  /** Waits (bounded) until the client is ready, as `run` does before its command. */
  async ready(method: string): Promise<void> {
    try {
      if (this.#closed) throw closedError(method);
      if (this.client.status !== "ready")
        await this.#whenReady(method, performance.now() + this.#timeoutMs, false);
    } catch (err) {
      throw this.#toKVError(
        method,
        err instanceof NoConnection ? (err.cause ?? err) : err,
        {},
        false,
      );
    }
  }

  /**
   * Resolves once the client is ready; rejects (NoConnection) if it is down (unless
   * `patient`), closed, or past `deadline`.
   */
  async #whenReady(method: string, deadline: number, patient: boolean): Promise<void> {
    for (;;) {
      if (this.#closed) throw closedError(method);
      const status = this.client.status;
      if (status === "ready" && this.#writable()) return;
      if (status === "end") {
        throw new NoConnection(new Error(`the client of ${this.#describe()} is closed`));
      }
      if (this.#down !== undefined && !patient) throw new NoConnection(this.#down);
      // A caller's lazyConnect client connects on its first command; we never send one
      // before "ready", so start it.
      if (status === "wait") this.client.connect().catch(noop);
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new NoConnection(
          this.#down ??
            new Error(`no connection to ${this.#describe()} within ${this.#timeoutMs} ms`),
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        // A patient wait also looks again now and then: "ready" may have come and gone.
        const timer = setTimeout(done, patient ? Math.min(left, 100) : left);
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

  #toKVError(method: string, err: unknown, options: RunOptions, uncertain: boolean): KVError {
    if (isKVError(err)) return err;
    const cause = this.#sanitized(err);
    const message = this.#redact(cause instanceof Error ? cause.message : String(cause));
    if (message.startsWith("WRONGTYPE")) {
      return new KVError(
        "KV_WRONG_TYPE",
        `${method}: the value at ${describeValue(options.key)} is not a kv value (Redis holds another type there)`,
        { cause },
      );
    }
    // A server-side refusal (OOM, NOPERM, a script error) is as much "cannot be served"
    // as a lost connection: both are KV_UNAVAILABLE.
    const refused = cause instanceof Error && cause.name === "ReplyError";
    const mayHaveTakenEffect = options.write === true && uncertain;
    return new KVError(
      "KV_UNAVAILABLE",
      `${method}: Redis at ${this.#describe()} ${refused ? "refused the command" : "is unavailable"} (${message})${mayHaveTakenEffect ? "; the call may have taken effect (once)" : ""}`,
      { cause, mayHaveTakenEffect },
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
    this.#onReady.clear();
    // Our own client may still report a late error (a timed-out handshake) after close:
    // swallow it rather than let ioredis print "Unhandled error event".
    if (this.#own) this.client.on("error", noop);
    this.#wake();
  }
}

/** No connection within the budget (or the server is known to be down): nothing was sent. */
class NoConnection extends Error {
  constructor(override readonly cause: Error | undefined) {
    super(cause?.message ?? "no connection");
  }
}
