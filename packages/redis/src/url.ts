import { type KVUrl, parseKVUrl, urlError } from "@kv/core/adapter";

/** Where to connect: a `redis://`, `rediss://` or `redis-cluster://` KV URL, as Redis reads it. */
export interface RedisUrl {
  /** `rediss://` or `rediss-cluster://`: connect with TLS. */
  tls: boolean;
  /** `redis-cluster://` or `rediss-cluster://`: the hosts are seed nodes of a Redis Cluster. */
  cluster: boolean;
  /** One host for a standalone server; one or more seed nodes for a cluster. */
  nodes: { host: string; port: number }[];
  username: string | undefined;
  password: string | undefined;
  /** The database number from the path (`/2`); standalone only. */
  db: number | undefined;
}

export const SCHEMES = ["redis", "rediss", "redis-cluster", "rediss-cluster"] as const;
const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 6379;

/**
 * What a parsed KV URL (`parseKVUrl`, @kv/core: the one parser of the grammar) means for
 * Redis: the scheme picks TLS and Cluster, hosts default to `127.0.0.1:6379`, the path is
 * a database number (standalone only). Errors name `url.source` and never the password.
 */
export function redisUrlOf(url: KVUrl): RedisUrl {
  if (!(SCHEMES as readonly string[]).includes(url.scheme)) {
    throw urlError(url, `the URL must start with ${SCHEMES.map((s) => `${s}://`).join(", ")}`);
  }
  const cluster = url.scheme.endsWith("-cluster");
  if (!cluster && url.hosts.length > 1) {
    throw urlError(url, "several hosts need the redis-cluster:// scheme");
  }
  const nodes =
    url.hosts.length === 0
      ? [{ host: DEFAULT_HOST, port: DEFAULT_PORT }]
      : url.hosts.map((h) => ({ host: h.host, port: h.port ?? DEFAULT_PORT }));
  let db: number | undefined;
  const dbText = url.path.replace(/^\/+/, "");
  if (dbText !== "") {
    if (cluster || !/^\d+$/.test(dbText)) {
      throw urlError(
        url,
        `the path must be a database number${cluster ? ", and a cluster has only database 0" : ""}`,
      );
    }
    db = Number(dbText);
  }
  return {
    tls: url.scheme.startsWith("rediss"),
    cluster,
    nodes,
    username: url.username === "" ? undefined : url.username,
    password: url.password === "" ? undefined : url.password,
    db,
  };
}

/**
 * Parses `redis://[user:password@]host[:port][/db][?options]`, `rediss://…` (TLS), and the
 * cluster forms `redis-cluster://[user:password@]h1:p1,h2:p2[?options]` and
 * `rediss-cluster://…`: @kv/core's `parseKVUrl`, then `redisUrlOf`.
 */
export function parseRedisUrl(url: string, where = "parseRedisUrl"): RedisUrl {
  return redisUrlOf(parseKVUrl(url, where));
}
