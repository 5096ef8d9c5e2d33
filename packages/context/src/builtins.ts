// Type-only imports: erased from the build, so neither package is loaded (or required
// to be installed) until its scheme is used.
import type * as LruModule from "@kv/lru";
import { MemoryBackend } from "@kv/memory";
import type * as RedisModule from "@kv/redis";
import { loadPackage } from "./load.js";
import { readOptions } from "./options.js";
import type { BackendFactory } from "./registry.js";
import { type KVUrl, urlError } from "./url.js";

function noLocation(url: KVUrl): void {
  if (
    url.hosts.length > 0 ||
    url.username !== "" ||
    url.password !== "" ||
    (url.path !== "" && url.path !== "/")
  ) {
    throw urlError(
      url,
      `${url.scheme}:// takes no host or path, only ?options (like ${url.scheme}://?maxValueBytes=65536)`,
    );
  }
}

/** `memory://?maxValueBytes=…&purgeIntervalSeconds=…|false&purgeBatchSize=…` */
const memory: BackendFactory = (url, overrides) => {
  noLocation(url);
  const options = readOptions(url, {
    maxValueBytes: "integer",
    purgeIntervalSeconds: "number|false",
    purgeBatchSize: "integer",
  });
  return new MemoryBackend({ ...options, ...overrides });
};

/** `lru://?max=…&maxBytes=…&maxValueBytes=…` (neither bound: @kv/lru's default capacity) */
const lru: BackendFactory = async (url, overrides) => {
  noLocation(url);
  const options = readOptions(url, {
    max: "integer",
    maxBytes: "integer",
    maxValueBytes: "integer",
  });
  const { createLruBackend } = await loadPackage<typeof LruModule>("@kv/lru", url);
  return createLruBackend({ ...options, ...overrides });
};

/** The query options of every redis scheme: @kv/redis's `RedisBackendOptions` of the same names. */
const REDIS_OPTIONS = {
  prefix: "string",
  maxValueBytes: "integer",
  commandTimeoutMs: "integer",
  connectTimeoutMs: "integer",
} as const;

/**
 * The URL without its query, for @kv/redis to connect to: the options were read (and
 * checked) here, so they go to the backend as typed options, not as text a second time.
 */
function connectionUrl(url: KVUrl): string {
  const user = encodeURIComponent(url.username);
  const userinfo =
    url.username === "" && url.password === ""
      ? ""
      : `${user}${url.password === "" ? "" : `:${encodeURIComponent(url.password)}`}@`;
  const hosts = url.hosts
    .map(
      ({ host, port }) =>
        `${host.includes(":") ? `[${host}]` : host}${port === undefined ? "" : `:${port}`}`,
    )
    .join(",");
  return `${url.scheme}://${userinfo}${hosts}${url.path}`;
}

/**
 * `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS), and the cluster forms
 * `redis-cluster://[user:password@]h1:p1,h2:p2,…` and `rediss-cluster://…`, each with
 * `?prefix=…&maxValueBytes=…&commandTimeoutMs=…&connectTimeoutMs=…`. @kv/redis checks
 * the hosts and the database number.
 */
const redis: BackendFactory = async (url, overrides) => {
  const options = readOptions(url, REDIS_OPTIONS);
  const { RedisBackend } = await loadPackage<typeof RedisModule>("@kv/redis", url);
  return new RedisBackend({ url: connectionUrl(url), ...options, ...overrides });
};

/** The schemes every install knows; `registerBackend` adds more (or replaces these). */
export const BUILTIN_BACKENDS: Readonly<Record<string, BackendFactory>> = {
  memory,
  lru,
  redis,
  rediss: redis,
  "redis-cluster": redis,
  "rediss-cluster": redis,
};
