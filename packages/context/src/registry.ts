import type { Clock, KVBackend } from "@kv/core";
import { invalidArgument } from "@kv/core/adapter";
import { processShared } from "./shared.js";
import type { KVUrl } from "./url.js";

/**
 * Programmatic options for `createKV`, for what a URL cannot carry. They are handed
 * to the backend's constructor over the options read from the URL.
 */
export interface BackendOverrides {
  /** In-process backends (`memory://`, `lru://`): the clock TTLs read, e.g. a ManualClock in tests. */
  clock?: Clock;
  /** Any other constructor option of the backend (an `onEvict` hook, …). */
  [option: string]: unknown;
}

/** Builds a backend from a parsed URL; registered per scheme with `registerBackend`. */
export type BackendFactory = (
  url: KVUrl,
  overrides: BackendOverrides,
) => KVBackend | Promise<KVBackend>;

const SCHEME_NAME = /^[a-z][a-z0-9+.-]*$/;

/** The scheme → factory table of registered backends, one per process (see shared.ts). */
const registered = processShared("@kv/context/backends", () => new Map<string, BackendFactory>());

export function registry(): Map<string, BackendFactory> {
  return registered;
}

/**
 * Makes `scheme://…` URLs build backends with `factory`, from `createKV` and `KV_URL`.
 * Registering a scheme that exists replaces it, a built-in included. Returns a function
 * that puts back what was there before.
 *
 * @example
 * registerBackend("sqlite", (url) => new SqliteBackend({ path: url.path }));
 * const kv = await createKV("sqlite:///var/lib/app/kv.db");
 */
export function registerBackend(scheme: string, factory: BackendFactory): () => void {
  if (typeof scheme !== "string" || !SCHEME_NAME.test(scheme)) {
    throw invalidArgument(
      "registerBackend",
      "scheme must be a lower-case URL scheme without :// (like sqlite or my-kv)",
      scheme,
    );
  }
  if (typeof factory !== "function") {
    throw invalidArgument(
      "registerBackend",
      "factory must be a function (url, overrides) => backend",
      factory,
    );
  }
  const table = registry();
  const previous = table.get(scheme);
  table.set(scheme, factory);
  return () => {
    if (table.get(scheme) !== factory) return;
    if (previous === undefined) table.delete(scheme);
    else table.set(scheme, previous);
  };
}
