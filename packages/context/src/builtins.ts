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

/** The purge options of both in-process backends (core's `PurgeOptions`). */
const PURGE_OPTIONS = { purgeIntervalSeconds: "number|false", purgeOnWrite: "boolean" } as const;

/** `memory://?maxValueBytes=…&purgeIntervalSeconds=…|false&purgeOnWrite=…&purgeBatchSize=…` */
const memory: BackendFactory = (url, overrides) => {
  noLocation(url);
  const options = readOptions(url, {
    maxValueBytes: "integer",
    purgeBatchSize: "integer",
    ...PURGE_OPTIONS,
  });
  return new MemoryBackend({ ...options, ...overrides });
};

/**
 * `lru://?max=…&maxBytes=…&maxValueBytes=…&purgeIntervalSeconds=…|false&purgeOnWrite=…`
 * (neither bound: @kv/lru's default capacity)
 */
const lru: BackendFactory = async (url, overrides) => {
  noLocation(url);
  const options = readOptions(url, {
    max: "integer",
    maxBytes: "integer",
    maxValueBytes: "integer",
    ...PURGE_OPTIONS,
  });
  const { createLruBackend } = await loadPackage<typeof LruModule>("@kv/lru", url);
  return createLruBackend({ ...options, ...overrides });
};

/**
 * `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS), and the cluster forms
 * `redis-cluster://[user:password@]h1:p1,h2:p2,…` and `rediss-cluster://…`. The parsed
 * URL goes to @kv/redis as it is: it reads its hosts, database and query options
 * (`?prefix=…&commandTimeoutMs=…`, listed once, in @kv/redis) itself.
 */
const redis: BackendFactory = async (url, overrides) => {
  const { RedisBackend } = await loadPackage<typeof RedisModule>("@kv/redis", url);
  return new RedisBackend({ ...overrides, url });
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
