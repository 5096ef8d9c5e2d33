import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { RedisUrl } from "../url.js";

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
 *   later, outside its call's budget. `Link` waits for the connection itself, bounded by
 *   the call's budget.
 * - `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false`: a command in flight
 *   when the connection drops fails at once rather than being sent again by ioredis:
 *   `Link` resends it itself, within the budget, with the same request id (a write runs
 *   once however often it is sent, exactly-once/side-keys.ts).
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

/**
 * ioredis's auto-pipelining, on a Cluster only. ioredis keeps one auto-pipeline in flight
 * per connection and queues the next one behind it, so the server works through a batch
 * while the client waits, then the other way round; and each batch costs a `Pipeline`
 * of its own. On a standalone server the backend groups the commands of concurrent calls
 * itself instead (`groupWrites`, scripts/protocol.ts: the socket corked, written every 16
 * commands), which keeps client and server working side by side: `get` at 100 callers
 * 130k/s auto-pipelined against 190–220k/s grouped, `set` 63k/s against 150k/s (apps/bench
 * README). A Cluster has a connection per node and no socket of its own to cork: there
 * ioredis pipelines reads per node; scripts (5 to 50 µs of server time each) stay out
 * of it, for the reason above.
 */
function pipelining(
  on: boolean,
  cluster: boolean,
): Pick<RedisOptions, "enableAutoPipelining" | "autoPipeliningIgnoredCommands"> {
  return on && cluster
    ? { enableAutoPipelining: true, autoPipeliningIgnoredCommands: ["evalsha", "eval"] }
    : { enableAutoPipelining: false };
}

export interface Timeouts {
  commandMs: number;
  connectMs: number;
}

/**
 * A client of ours for `url`; `extra` are the caller's ioredis options (ours win).
 * `autoPipelining`: the backend's option (see `pipelining` above for what it turns on
 * where). It changes nothing in how a call fails or is resent: a grouped or pipelined
 * command still fails on its own when the connection drops (no offline queue, no
 * automatic resend), and `Link` resends it with its request id.
 */
export function createClient(
  url: RedisUrl,
  timeouts: Timeouts,
  extra: {
    redisOptions?: RedisOptions;
    clusterOptions?: ClusterOptions;
    autoPipelining: boolean;
  },
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
      ...pipelining(extra.autoPipelining, false),
      retryStrategy: base.retryStrategy ?? reconnectDelay,
    });
  }
  const { enableOfflineQueue: _q, retryStrategy: _r, ...nodeOptions } = standaloneOptions(timeouts);
  const { retryStrategy: _u, enableOfflineQueue: _v, host: _h, port: _p, ...nodeBase } = base;
  return new Cluster(url.nodes, {
    ...extra.clusterOptions,
    enableOfflineQueue: false,
    ...pipelining(extra.autoPipelining, true),
    clusterRetryStrategy: extra.clusterOptions?.clusterRetryStrategy ?? reconnectDelay,
    redisOptions: { ...nodeBase, ...credentials, ...tls, ...nodeOptions },
  });
}

/** Where a caller's client points, for messages: `host:port`s only, never credentials. */
export function describeClient(client: RedisClient): string {
  if (client.isCluster) {
    const nodes = (client as Cluster)
      .nodes("master")
      .map((n) => `${n.options.host}:${n.options.port}`)
      .sort(); // the same text for the same Cluster, whatever order ioredis holds them in
    return `cluster ${nodes.length > 0 ? nodes.join(",") : "(not connected yet)"}`;
  }
  const { host, port, path } = (client as Redis).options;
  return path ? path : `${host ?? "127.0.0.1"}:${port ?? 6379}`;
}

export function noop(): void {}

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
