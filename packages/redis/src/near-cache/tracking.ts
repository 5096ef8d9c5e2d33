import { type Cluster, Redis, type RedisOptions } from "ioredis";

/** The Pub/Sub channel Redis publishes tracking invalidations on (RESP2 redirect target). */
export const INVALIDATE_CHANNEL = "__redis__:invalidate";

/** What a tracker tells the near cache. */
export interface TrackingEvents {
  /** Tracking went up or down (anywhere): the cache must flush; it may serve once all is up. */
  changed(): void;
  /** The server dropped these keys from tracking (another write, an expiry, an eviction). */
  invalidate(keys: string[]): void;
  /** The server forgot everything (FLUSHALL / FLUSHDB, or its tracking table overflowed). */
  invalidateAll(): void;
}

/** Something that keeps `CLIENT TRACKING` on for one client (a Redis or a Cluster). */
export interface Tracker {
  /** True while every data connection has tracking on, redirected to a live subscriber. */
  readonly up: boolean;
  close(): Promise<void>;
}

/** Reconnect delays of the invalidation connection: 50 ms doubling to 1 s, plus jitter. */
function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 10), 1000) + Math.floor(Math.random() * 50);
}

/** How long to wait before sending `CLIENT TRACKING`, or a refused subscription, again: doubling to 5 s. */
const RETRY_ARM_MS = 250;
const RETRY_ARM_MAX_MS = 5000;

function noop(): void {}

/**
 * Tracking for one server connection `data` (a standalone client, or one master of a
 * Cluster): a second connection to the same server, RESP2, `CLIENT ID` then `SUBSCRIBE
 * __redis__:invalidate`, and on `data` `CLIENT TRACKING ON REDIRECT <that id>` (default
 * mode: every key `data` reads is tracked; its own writes are invalidated too).
 *
 * It is up only once the server acknowledged `CLIENT TRACKING` on `data`'s current
 * connection with the invalidation connection's current id. Any `close` of either
 * connection takes it down at once (the server's tracking state belongs to a connection,
 * and invalidations sent to a dead redirect target are lost), and `data`'s `ready` or the
 * subscriber's new id arms it again.
 */
export class NodeTracker implements Tracker {
  readonly #data: Redis;
  readonly #events: TrackingEvents;
  readonly #sub: Redis;
  /** Bumped by every connection event of either side: an answer from an older one is void. */
  #gen = 0;
  /** Bumped by every connection event of the subscriber: its `CLIENT ID` answer must be current. */
  #subGen = 0;
  #subId: string | undefined;
  /** The subscriber's server (`run_id`): `data` must be on the same one. */
  #subRunId: string | undefined;
  #up = false;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Failed `CLIENT TRACKING` attempts in a row (an old server, an ACL without CLIENT). */
  #failures = 0;
  /** The next try of a subscription the server refused, and the refusals in a row. */
  #subRetry: ReturnType<typeof setTimeout> | undefined;
  #subRefusals = 0;
  /** The last refusal of `CLIENT TRACKING`, for diagnostics. */
  lastError: unknown;
  readonly #onDataReady = (): void => this.#changed(true);
  readonly #onDataClose = (): void => this.#changed(false);

  constructor(data: Redis, events: TrackingEvents) {
    this.#data = data;
    this.#events = events;
    this.#sub = new Redis(subscriberOptions(data.options));
    this.#sub.on("error", noop); // reconnects by itself; `close` takes tracking down
    this.#sub.on("ready", () => void this.#subscribe());
    this.#sub.on("close", () => {
      this.#subGen++;
      this.#subId = undefined;
      this.#changed(false);
    });
    this.#sub.on("messageBuffer", (channel: Buffer, message: unknown) =>
      this.#message(channel, message),
    );
    data.on("ready", this.#onDataReady);
    data.on("close", this.#onDataClose);
  }

  get up(): boolean {
    return this.#up;
  }

  /** The client id invalidations are redirected to (for tests and diagnostics). */
  get subscriberId(): string | undefined {
    return this.#subId;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gen++;
    this.#up = false;
    clearTimeout(this.#retry);
    clearTimeout(this.#subRetry);
    this.#data.off("ready", this.#onDataReady);
    this.#data.off("close", this.#onDataClose);
    // Leave a caller's connection as it was found (best effort: it may be closing too).
    if (this.#data.status === "ready") {
      this.#data.call("CLIENT", "TRACKING", "OFF").catch(noop);
    }
    this.#sub.disconnect();
  }

  /** Either side connected or dropped: down now, and try to arm again. */
  #changed(connected: boolean): void {
    if (this.#closed) return;
    this.#gen++;
    this.#up = false;
    this.#events.changed();
    if (connected) this.#arm();
  }

  async #subscribe(): Promise<void> {
    clearTimeout(this.#subRetry);
    const subGen = ++this.#subGen;
    this.#subId = undefined;
    this.#changed(false);
    try {
      const id = String(await this.#sub.client("ID"));
      const runId = runIdOf(await this.#sub.info("server"));
      await this.#sub.subscribe(INVALIDATE_CHANNEL);
      if (subGen !== this.#subGen || this.#closed) return;
      this.#subRefusals = 0;
      this.#subId = id;
      this.#subRunId = runId;
      this.#arm();
    } catch (err) {
      if (subGen !== this.#subGen || this.#closed) return;
      if (err instanceof Error && err.name === "ReplyError") {
        // Refused on a sound connection (an ACL user without CLIENT, INFO or channel
        // rights): ask again on it, backing off. Reconnecting would succeed and be
        // refused again, a new connection every 50 ms for as long as the cache lives.
        this.lastError = err;
        const delay = Math.min(RETRY_ARM_MS * 2 ** this.#subRefusals++, RETRY_ARM_MAX_MS);
        this.#subRetry = setTimeout(() => {
          if (subGen === this.#subGen && !this.#closed) void this.#subscribe();
        }, delay);
        this.#subRetry.unref?.();
      } else if (this.#sub.status === "ready") {
        // The connection failed under us: its `close` (and next `ready`) starts over. If
        // it is still up, drop it so that it does.
        this.#sub.disconnect(true);
      }
    }
  }

  /**
   * `CLIENT TRACKING ON REDIRECT <id>` on `data`; up once the server said OK to it. First
   * checks that `data` is on the subscriber's server: client ids are per server, so behind
   * a proxy or after a Sentinel failover the id could name a stranger on another one.
   */
  #arm(): void {
    clearTimeout(this.#retry);
    const id = this.#subId;
    const runId = this.#subRunId;
    if (this.#closed || id === undefined || this.#data.status !== "ready") return;
    const gen = ++this.#gen; // voids any earlier arming still in flight
    const data = this.#data;
    data
      .info("server")
      .then((info) => {
        if (gen !== this.#gen || this.#closed) return;
        if (runIdOf(info) !== runId) throw new OtherServer();
        return data.call("CLIENT", "TRACKING", "ON", "REDIRECT", id);
      })
      .then(
        () => {
          if (gen !== this.#gen || this.#closed) return;
          this.#failures = 0;
          this.lastError = undefined;
          this.#up = true;
          this.#events.changed();
        },
        (err: unknown) => {
          if (gen !== this.#gen || this.#closed) return;
          this.lastError = err;
          const delay = Math.min(RETRY_ARM_MS * 2 ** this.#failures++, RETRY_ARM_MAX_MS);
          // The subscriber is on another server than `data` (a Sentinel failover moved
          // `data`, a proxy in between): reconnect it, to follow `data`'s address. Else
          // (a timeout, an ACL, a server without tracking) send it again, backing off.
          const elsewhere = err instanceof OtherServer || String(err).includes("redirect");
          this.#retry = setTimeout(() => {
            if (gen !== this.#gen || this.#closed) return;
            if (!elsewhere) this.#arm();
            else if (this.#sub.status === "ready") this.#sub.disconnect(true);
          }, delay);
          this.#retry.unref?.();
        },
      );
  }

  #message(channel: Buffer, message: unknown): void {
    if (this.#closed || channel.toString() !== INVALIDATE_CHANNEL) return;
    if (message === null || message === undefined) {
      this.#events.invalidateAll();
    } else if (Array.isArray(message)) {
      this.#events.invalidate(message.map((key) => String(key)));
    } else {
      this.#events.invalidate([String(message)]);
    }
  }
}

class OtherServer extends Error {
  constructor() {
    super("the invalidation connection is on another server than the data connection");
  }
}

/** The `run_id` line of `INFO server`: which server process a connection is on. */
function runIdOf(info: string): string | undefined {
  return /run_id:([0-9a-f]+)/.exec(info)?.[1];
}

/**
 * The subscriber's options: the data connection's (host, port, credentials, TLS, Sentinel),
 * but RESP2 (a RESP3 redirect target would get `invalidate` pushes, which ioredis drops),
 * connected now, queueing while it connects, resubscribing by hand (`CLIENT ID` first).
 */
function subscriberOptions(data: RedisOptions): RedisOptions {
  const {
    keyPrefix: _prefix,
    enableAutoPipelining: _pipelining,
    autoPipeliningIgnoredCommands: _ignored,
    ...rest
  } = data;
  return {
    ...rest,
    protocol: 2,
    lazyConnect: false,
    readOnly: false,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: null,
    connectionName: "kv:near-cache",
    retryStrategy: reconnectDelay,
    commandTimeout: data.commandTimeout ?? 2000,
  };
}

/**
 * Tracking on a Cluster: one `NodeTracker` per master (reads go to masters), kept in step
 * with the topology (`+node`, `-node`, `refresh`: a replica promoted by a failover becomes
 * a master without a `+node`). Up only while every known master's tracker is up; a change
 * of the masters takes it down (and so flushes the cache) until the new ones are armed.
 */
export class ClusterTracker implements Tracker {
  readonly #cluster: Cluster;
  readonly #events: TrackingEvents;
  readonly #nodes = new Map<Redis, NodeTracker>();
  #closed = false;
  readonly #reconcile = (): void => this.#sync();

  constructor(cluster: Cluster, events: TrackingEvents) {
    this.#cluster = cluster;
    this.#events = events;
    for (const event of ["+node", "-node", "refresh", "ready"]) cluster.on(event, this.#reconcile);
    this.#sync();
  }

  get up(): boolean {
    if (this.#closed || this.#nodes.size === 0) return false;
    for (const tracker of this.#nodes.values()) if (!tracker.up) return false;
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const event of ["+node", "-node", "refresh", "ready"]) {
      this.#cluster.off(event, this.#reconcile);
    }
    await Promise.all([...this.#nodes.values()].map((t) => t.close()));
    this.#nodes.clear();
  }

  #sync(): void {
    if (this.#closed) return;
    const masters = new Set(this.#cluster.nodes("master"));
    // ioredis connects a node on its first command: wake the idle masters so that they can
    // be armed (not before the Cluster is ready: connecting a node while ioredis is still
    // setting its pool up makes it drop the node).
    if (this.#cluster.status === "ready") {
      for (const node of masters) if (node.status === "wait") node.ping().catch(noop);
    }
    let changed = false;
    for (const [node, tracker] of this.#nodes) {
      if (!masters.has(node)) {
        this.#nodes.delete(node);
        void tracker.close();
        changed = true;
      }
    }
    for (const node of masters) {
      if (!this.#nodes.has(node)) {
        this.#nodes.set(node, new NodeTracker(node, this.#events));
        changed = true;
      }
    }
    if (changed) this.#events.changed();
  }
}
