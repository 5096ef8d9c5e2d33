import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { type KVBackend, KVError, namespaced } from "@kv/core";
import { invalidArgument } from "@kv/core/adapter";
import { processShared } from "./shared.js";

/** What a run sees: its id and its store, as in the reference API's `context.kv()`. */
export interface KVContext {
  /** The id of this run. */
  readonly runId: string;
  /** The store of this run: the same object on every call. */
  kv(): KVBackend;
  /** Calls `fn` with this context as the current one, for everything `fn` awaits. */
  run<R>(fn: () => R): R;
}

export interface CreateContextOptions {
  /** The backend to wire in, e.g. `await createKV()`. The context does not close it. */
  kv: KVBackend;
  /** The run's id. Default: a random UUID. */
  runId?: string;
  /**
   * `"shared"` (default): `kv()` is the backend itself; keys are what the code says
   * (the reference examples spell out `run:<id>:` themselves).
   * `"run"`: `kv()` is a view in which every key is stored as `run:<runId>:<key>`, so
   * runs on one store cannot see each other's keys. The view's `close()` closes only
   * the view, and its `purgeExpired` is a no-op (purging is the shared store's job).
   */
  scope?: "shared" | "run";
}

// One storage per process, whichever copy or build of this package asks (see shared.ts).
const storage = processShared("@kv/context/storage", () => new AsyncLocalStorage<KVContext>());

/**
 * A run context with a store wired in.
 *
 * @example
 * const ctx = createContext({ kv: await createKV(), runId: "run-42" });
 * await ctx.kv().set(`run:${ctx.runId}:step`, 1, { ttlSeconds: 600 });
 */
export function createContext(options: CreateContextOptions): KVContext {
  if (typeof options !== "object" || options === null) {
    throw invalidArgument("createContext", "options must be an object like { kv, runId }", options);
  }
  const { kv: backend, runId = randomUUID(), scope = "shared" } = options;
  if (typeof backend !== "object" || backend === null || typeof backend.get !== "function") {
    throw invalidArgument("createContext", "kv must be a backend, e.g. await createKV()", backend);
  }
  if (typeof runId !== "string" || runId.length === 0 || !runId.isWellFormed()) {
    throw invalidArgument("createContext", "runId must be a non-empty string", runId);
  }
  if (scope !== "shared" && scope !== "run") {
    throw invalidArgument("createContext", 'scope must be "shared" or "run"', scope);
  }
  const store = scope === "run" ? namespaced(backend, `run:${runId}:`) : backend;
  const context: KVContext = {
    runId,
    kv: () => store,
    run: (fn) => storage.run(context, fn),
  };
  return Object.freeze(context);
}

/**
 * Calls `fn` with `context` as the current context: `currentContext()` and `kv()` find it
 * from anywhere in the calls and promises `fn` starts. Returns what `fn` returns.
 */
export function runWithContext<R>(context: KVContext, fn: () => R): R {
  if (typeof context !== "object" || context === null || typeof context.kv !== "function") {
    throw invalidArgument("runWithContext", "context must come from createContext()", context);
  }
  return storage.run(context, fn);
}

/** The current context, or `undefined` outside `runWithContext` / `context.run`. */
export function tryCurrentContext(): KVContext | undefined {
  return storage.getStore();
}

/** The current context. Throws KV_INVALID_ARGUMENT outside `runWithContext` / `context.run`. */
export function currentContext(): KVContext {
  const context = storage.getStore();
  if (context === undefined) {
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      "currentContext: no context is active here (call it inside runWithContext(ctx, fn) or ctx.run(fn))",
    );
  }
  return context;
}

/**
 * The current context's store: `await kv().get(key)` from deep in async code.
 * Throws KV_INVALID_ARGUMENT outside a context.
 */
export function kv(): KVBackend {
  return currentContext().kv();
}
