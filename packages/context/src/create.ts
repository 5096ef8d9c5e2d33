import type { KVBackend } from "@kv/core";
import { invalidArgument } from "@kv/core/adapter";
import { BUILTIN_BACKENDS } from "./builtins.js";
import { type BackendFactory, type BackendOverrides, registry } from "./registry.js";
import { parseKVUrl, urlError } from "./url.js";

/** What `createKV()` builds when neither an argument nor `KV_URL` says otherwise. */
export const DEFAULT_KV_URL = "memory://";

function factoryFor(scheme: string): BackendFactory | undefined {
  return (
    registry().get(scheme) ??
    (Object.hasOwn(BUILTIN_BACKENDS, scheme) ? BUILTIN_BACKENDS[scheme] : undefined)
  );
}

/** Every scheme `createKV` accepts right now, built-in and registered. */
export function knownSchemes(): string[] {
  return [...new Set([...Object.keys(BUILTIN_BACKENDS), ...registry().keys()])];
}

/**
 * Builds the backend a URL names: the choice of store is made per deployment, like
 * `DATABASE_URL`, and the code stays the same.
 *
 * - `url`: a KV URL; when omitted, the `KV_URL` environment variable; when that is
 *   unset or empty, `memory://`.
 * - `overrides`: options a URL cannot carry (a clock, a hook), handed to the backend's
 *   constructor over those of the URL. Those set to `undefined` are left out.
 *
 * Schemes: `memory://`, `lru://`, `redis://`, `rediss://`, `redis-cluster://`,
 * `rediss-cluster://`, and any registered with `registerBackend`. `@kv/lru` and
 * `@kv/redis` are imported only when their scheme is used. A bad URL, scheme or option
 * is KV_INVALID_ARGUMENT, with the valid choices in the message and never a password.
 *
 * @example
 * const kv = await createKV(); // KV_URL=redis://cache:6379?prefix=app: in production
 */
export async function createKV(
  url?: string | URL,
  overrides: BackendOverrides = {},
): Promise<KVBackend> {
  if (typeof overrides !== "object" || overrides === null) {
    throw invalidArgument("createKV", "overrides must be an object of backend options", overrides);
  }
  const text =
    url === undefined ? process.env.KV_URL || DEFAULT_KV_URL : url instanceof URL ? url.href : url;
  if (typeof text !== "string") {
    throw invalidArgument(
      "createKV",
      "url must be a string like memory:// or redis://host:6379",
      text,
    );
  }
  const parsed = parseKVUrl(text);
  const factory = factoryFor(parsed.scheme);
  if (factory === undefined) {
    const valid = knownSchemes()
      .map((s) => `${s}://`)
      .join(", ");
    throw urlError(
      parsed,
      `unknown scheme, valid schemes: ${valid}`,
      JSON.stringify(`${parsed.scheme}://`),
    );
  }
  // `{ maxValueBytes: undefined }` means "not set here", not "unset the URL's".
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return factory(parsed, defined);
}
