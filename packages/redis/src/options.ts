import {
  invalidArgument,
  KVError,
  type KVUrl,
  parseKVUrl,
  readUrlOptions,
  resolveLimit,
} from "@kv/core/adapter";
import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import type { NearCacheOptions } from "./near-cache/index.js";
import { type RedisUrl, redisUrlOf } from "./url.js";

export interface RedisBackendOptions {
  /**
   * Where to connect: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS), or a
   * cluster, `redis-cluster://[user:password@]host1:port1,host2:port2` (any few nodes; the
   * rest are discovered). Query parameters set the options below:
   * `?prefix=app:&commandTimeoutMs=2000`. Default `redis://127.0.0.1:6379`. Also a URL
   * already parsed by @kv/core's `parseKVUrl` (what `createKV` passes).
   */
  url?: string | KVUrl;
  /**
   * An ioredis `Redis` or `Cluster` of yours, instead of `url`. The backend uses it as it
   * is and `close()` leaves it open. It must not set ioredis's `keyPrefix`: use `prefix`.
   */
  client?: Redis | Cluster;
  /**
   * Prepended to every key in Redis, and stripped from the keys `scanPrefix` returns: many
   * apps can share one database. Default `""`. On a cluster, mind hash tags (README).
   */
  prefix?: string;
  /** The largest value, as UTF-8 bytes of JSON (for a list: the whole list). Default 1 MiB. */
  maxValueBytes?: number;
  /**
   * The time budget of a call, in milliseconds: the longest it waits for Redis, for the
   * connection when it is being (re)established and for the reply, retries after a lost
   * reply included (README "Failures"). Past it, the call rejects with KV_UNAVAILABLE.
   * Default 5000.
   */
  commandTimeoutMs?: number;
  /** The longest one connection attempt may take, in milliseconds. Default 5000. Not used with `client`. */
  connectTimeoutMs?: number;
  /**
   * How long the items of a `listPopAll` stay reserved for the process that popped them
   * before any backend on the server may put them back under their key (the popper died
   * before it acknowledged them). At least 2 × `commandTimeoutMs` + 1000. Default
   * 2 × `commandTimeoutMs` + 5000 (15 s). README "Exactly once".
   */
  popLeaseMs?: number;
  /**
   * Pipelining of concurrent calls on the client the backend creates: the commands of
   * calls made in the same event-loop turn go to Redis in groups of 16 per socket write
   * (on a Cluster, reads through ioredis's `enableAutoPipelining`, per node), and their
   * replies come back in few reads (README "Pipelining"). Default `true`; `false` sends
   * each command on its own (URL `?autoPipelining=false`). An `enableAutoPipelining` in
   * `redisOptions`/`clusterOptions` stands for this when this is not given. Not used
   * with `client`: yours keeps its own setting.
   */
  autoPipelining?: boolean;
  /**
   * A near cache (SPEC.md "Near cache"; README "Near cache"): recent reads (`get`, `mget`,
   * `exists`, `ttl`) kept in this process, invalidated by the server (`CLIENT TRACKING`)
   * when any client writes the key. A read may then be up to `maxStalenessMs` old (default
   * 2000; in practice about a millisecond on loopback); this client's own writes are
   * visible to its reads at once. Off by default. URL: `?nearCache=<max entries>`.
   */
  nearCache?: NearCacheOptions;
  /**
   * More ioredis options for the client the backend creates (e.g. `tls: { ca }` for a
   * private CA with `rediss://`). The options that give the failure behaviour (offline
   * queue, retries, timeouts) are the backend's and override these.
   */
  redisOptions?: RedisOptions;
  /** More ioredis `Cluster` options, for a `redis-cluster://` URL. */
  clusterOptions?: ClusterOptions;
}

export const WHERE = "RedisBackend";
const DEFAULT_URL = "redis://127.0.0.1:6379";
const DEFAULT_TIMEOUT_MS = 5000;

/** The backend options a URL may carry as query parameters: the one list of them. */
export const URL_OPTIONS = {
  prefix: "string",
  maxValueBytes: "integer",
  commandTimeoutMs: "integer",
  connectTimeoutMs: "integer",
  autoPipelining: "boolean",
  nearCache: "integer",
} as const;

/** The options, checked, with the URL's query and the defaults applied. */
export interface Settings {
  /** `undefined` with a caller's client. */
  url: RedisUrl | undefined;
  client: Redis | Cluster | undefined;
  prefix: string;
  maxValueBytes: number | undefined;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  popLeaseMs: number;
  autoPipelining: boolean;
  /** `undefined`: no near cache. Checked by `NearCache` itself. */
  nearCache: NearCacheOptions | undefined;
  redisOptions: RedisOptions | undefined;
  clusterOptions: ClusterOptions | undefined;
}

/** Checks the constructor's options; explicit options win over the URL's query. */
export function resolveSettings(
  options: RedisBackendOptions | string | KVUrl | undefined,
): Settings {
  const opts: RedisBackendOptions =
    options === undefined
      ? {}
      : typeof options === "string" || isKVUrl(options)
        ? { url: options as string | KVUrl }
        : (options as RedisBackendOptions);
  if (typeof opts !== "object" || opts === null) {
    throw invalidArgument(WHERE, "options must be a URL or an object", options);
  }
  if (opts.url !== undefined && opts.client !== undefined) {
    throw new KVError("KV_INVALID_ARGUMENT", `${WHERE}: pass either url or client, not both`);
  }
  const keyPrefix =
    opts.redisOptions?.keyPrefix ??
    opts.clusterOptions?.keyPrefix ??
    opts.clusterOptions?.redisOptions?.keyPrefix;
  if (keyPrefix) {
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `${WHERE}: ioredis's keyPrefix is not supported (it misses SCAN patterns and replies); use the prefix option`,
    );
  }
  let url: RedisUrl | undefined;
  let query: Partial<Record<keyof typeof URL_OPTIONS, unknown>> = {};
  if (opts.client === undefined) {
    const parsed =
      opts.url === undefined || typeof opts.url === "string"
        ? parseKVUrl(opts.url ?? DEFAULT_URL, WHERE)
        : opts.url;
    if (!isKVUrl(parsed))
      throw invalidArgument(WHERE, "url must be a string or a parsed KV URL", parsed);
    url = redisUrlOf(parsed);
    query = readUrlOptions(parsed, URL_OPTIONS);
  }
  const pick = <K extends keyof typeof URL_OPTIONS>(name: K): unknown =>
    opts[name] !== undefined ? opts[name] : query[name];

  const prefix = pick("prefix") ?? "";
  if (typeof prefix !== "string" || !prefix.isWellFormed()) {
    throw invalidArgument(WHERE, "prefix must be a well-formed string", prefix);
  }
  const commandTimeoutMs = resolveLimit(
    WHERE,
    pick("commandTimeoutMs"),
    DEFAULT_TIMEOUT_MS,
    "commandTimeoutMs",
  );
  const minLease = 2 * commandTimeoutMs + 1000;
  const popLeaseMs = resolveLimit(
    WHERE,
    opts.popLeaseMs,
    2 * commandTimeoutMs + 5000,
    "popLeaseMs",
  );
  if (popLeaseMs < minLease) {
    throw invalidArgument(
      WHERE,
      `popLeaseMs must be at least 2 × commandTimeoutMs + 1000 (${minLease})`,
      popLeaseMs,
    );
  }
  const autoPipelining =
    pick("autoPipelining") ??
    opts.clusterOptions?.enableAutoPipelining ??
    opts.redisOptions?.enableAutoPipelining ??
    true;
  if (typeof autoPipelining !== "boolean") {
    throw invalidArgument(WHERE, "autoPipelining must be a boolean", autoPipelining);
  }
  const nearCache =
    opts.nearCache ??
    (query.nearCache === undefined ? undefined : { max: query.nearCache as number });
  return {
    url,
    client: opts.client,
    autoPipelining,
    nearCache,
    prefix,
    maxValueBytes: pick("maxValueBytes") as number | undefined,
    commandTimeoutMs,
    connectTimeoutMs: resolveLimit(
      WHERE,
      pick("connectTimeoutMs"),
      DEFAULT_TIMEOUT_MS,
      "connectTimeoutMs",
    ),
    popLeaseMs,
    redisOptions: opts.redisOptions,
    clusterOptions: opts.clusterOptions,
  };
}

function isKVUrl(value: unknown): value is KVUrl {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as KVUrl).scheme === "string" &&
    (value as KVUrl).params instanceof URLSearchParams
  );
}
