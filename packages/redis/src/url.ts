import { invalidArgument, KVError, redactUrl } from "@kv/core";

/** Where to connect, parsed from a `redis://`, `rediss://` or `redis-cluster://` URL. */
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
  /** The backend options given as query parameters, still as text. */
  query: Map<string, string>;
}

const SCHEMES = ["redis", "rediss", "redis-cluster", "rediss-cluster"] as const;
const DEFAULT_PORT = 6379;

function decode(where: string, part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `${where}: bad percent-encoding in ${redactUrl(url)}`,
      {
        cause,
      },
    );
  }
}

function parseHost(where: string, text: string, url: string): { host: string; port: number } {
  // "[::1]:6380", "[::1]", "host:6380", "host"
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (m === null || port < 1 || port > 65535) {
    // The URL, redacted, and not the fragment: with a password that holds an unencoded
    // "/" or "?", the fragment taken for a host can be a piece of the password.
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `${where}: a Redis URL needs host[:port] entries (got ${JSON.stringify(redactUrl(url))})`,
    );
  }
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : decode(where, m[1]!, url);
  return { host, port };
}

/**
 * Parses `redis://[user:password@]host[:port][/db][?options]`, `rediss://…` (TLS), and the
 * cluster forms `redis-cluster://[user:password@]h1:p1,h2:p2[?options]` and
 * `rediss-cluster://…`. Credentials are percent-decoded; error messages never show the
 * password.
 */
export function parseRedisUrl(url: string, where = "parseRedisUrl"): RedisUrl {
  if (typeof url !== "string") throw invalidArgument(where, "url must be a string", url);
  // Parsed by hand: WHATWG URL rejects a comma-separated host list.
  const m =
    /^([a-z][a-z0-9+.-]*):\/\/(?:([^/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?(?:#.*)?$/i.exec(
      url,
    );
  const scheme = m?.[1]?.toLowerCase();
  if (m === null || !SCHEMES.includes(scheme as (typeof SCHEMES)[number])) {
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `${where}: the URL must start with ${SCHEMES.map((s) => `${s}://`).join(", ")} (got ${JSON.stringify(redactUrl(url))})`,
    );
  }
  const cluster = scheme!.endsWith("-cluster");
  const [, , userinfo, hostList = "", path = "", search = ""] = m;

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    username = user === "" ? undefined : decode(where, user, url);
    const pass = colon < 0 ? "" : userinfo.slice(colon + 1);
    password = pass === "" ? undefined : decode(where, pass, url);
  }

  const hosts = hostList === "" ? ["127.0.0.1"] : hostList.split(",");
  if (!cluster && hosts.length > 1) {
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `${where}: several hosts need the redis-cluster:// scheme (got ${JSON.stringify(redactUrl(url))})`,
    );
  }
  const nodes = hosts.map((h) => parseHost(where, h, url));

  let db: number | undefined;
  const dbText = path.replace(/^\/+/, "");
  if (dbText !== "") {
    if (cluster || !/^\d+$/.test(dbText)) {
      throw new KVError(
        "KV_INVALID_ARGUMENT",
        `${where}: the path must be a database number${cluster ? ", and a cluster has only database 0" : ""} (got ${JSON.stringify(redactUrl(url))})`,
      );
    }
    db = Number(dbText);
  }

  const query = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(search)) query.set(k, v);

  return { tls: scheme!.startsWith("rediss"), cluster, nodes, username, password, db, query };
}
