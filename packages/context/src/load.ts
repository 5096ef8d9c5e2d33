import { invalidArgument, KVError } from "@kv/core/adapter";
import { processShared } from "./shared.js";
import type { KVUrl } from "./url.js";

/** The optional backend packages, imported the first time their scheme is used. */
export type BackendPackage = "@kv/lru" | "@kv/redis";
const PACKAGES: readonly string[] = ["@kv/lru", "@kv/redis"];

// Modules handed over with `provideBackendPackage`, one table per process (see shared.ts).
const provided = processShared("@kv/context/provided-packages", () => new Map<string, unknown>());

// The specifier goes through a variable on purpose. With a literal `import("@kv/redis")`
// a bundler (esbuild, webpack, Rollup) follows it and puts @kv/redis and ioredis into
// every app's bundle, memory-only ones included. Through a variable the import stays a
// run-time lookup in node_modules, done only when a redis:// URL asks for it.
const importPackage = (name: string): Promise<unknown> => import(name);

/**
 * Hands `createKV` an optional backend package you imported yourself, so it does not
 * import it at run time: the way to put `@kv/redis` or `@kv/lru` inside a bundle.
 * Returns a function that takes it back.
 *
 * @example
 * import * as kvRedis from "@kv/redis";
 * provideBackendPackage("@kv/redis", kvRedis);
 */
export function provideBackendPackage(name: BackendPackage, module: object): () => void {
  if (!PACKAGES.includes(name)) {
    throw invalidArgument(
      "provideBackendPackage",
      `name must be one of ${PACKAGES.join(", ")}`,
      name,
    );
  }
  if (typeof module !== "object" || module === null) {
    throw invalidArgument(
      "provideBackendPackage",
      `module must be the namespace of ${name} (import * as m from "${name}")`,
      module,
    );
  }
  const previous = provided.get(name);
  provided.set(name, module);
  return () => {
    if (provided.get(name) !== module) return;
    if (previous === undefined) provided.delete(name);
    else provided.set(name, previous);
  };
}

function isNotFound(err: unknown, name: string): boolean {
  if (typeof err !== "object" || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  // ESM says ERR_MODULE_NOT_FOUND, require() MODULE_NOT_FOUND. Only the package itself
  // missing counts: a dependency missing inside it is a broken install, reported as is.
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    typeof message === "string" &&
    message.includes(`'${name}'`)
  );
}

/**
 * An optional backend package: the one provided, else imported. When it is not
 * installed, fails with KV_INVALID_ARGUMENT naming the package and how to install it.
 */
export async function loadPackage<M>(name: BackendPackage, url: KVUrl): Promise<M> {
  if (provided.has(name)) return provided.get(name) as M;
  try {
    return (await importPackage(name)) as M;
  } catch (err) {
    if (!isNotFound(err, name)) throw err;
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `createKV: ${url.scheme}:// URLs need the package ${name}, which is not installed: npm install ${name} (got ${JSON.stringify(url.redacted)})`,
      { cause: err },
    );
  }
}
