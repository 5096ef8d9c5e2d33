import { setTimeout as sleep } from "node:timers/promises";
import { isKVError } from "@kv/core";
import { MemoryBackend } from "@kv/memory";
import { afterEach, describe, expect, it } from "vitest";
import {
  createContext,
  currentContext,
  type KVContext,
  kv,
  runWithContext,
  tryCurrentContext,
} from "../src/index.js";

const stores: MemoryBackend[] = [];
function store(): MemoryBackend {
  const backend = new MemoryBackend({ purgeIntervalSeconds: false });
  stores.push(backend);
  return backend;
}
afterEach(async () => {
  for (const backend of stores.splice(0)) await backend.close();
});

describe("createContext", () => {
  it("wires the backend: kv() is the same instance on every call", () => {
    const backend = store();
    const ctx = createContext({ kv: backend, runId: "run-1" });
    expect(ctx.runId).toBe("run-1");
    expect(ctx.kv()).toBe(backend);
    expect(ctx.kv()).toBe(ctx.kv());
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it("gives a run a random id when none is passed", () => {
    const a = createContext({ kv: store() });
    const b = createContext({ kv: store() });
    expect(a.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.runId).not.toBe(b.runId);
  });

  it('with scope "run", kv() is a view that stores keys under run:<id>:', async () => {
    const backend = store();
    const ctx = createContext({ kv: backend, runId: "42", scope: "run" });
    const other = createContext({ kv: backend, runId: "43", scope: "run" });
    expect(ctx.kv()).toBe(ctx.kv());
    await ctx.kv().set("spec", { v: 1 });
    await other.kv().set("spec", { v: 2 });
    expect(await backend.get("run:42:spec")).toEqual({ v: 1 });
    expect(await ctx.kv().get("spec")).toEqual({ v: 1 });
    expect(await ctx.kv().scanPrefix("")).toEqual(["spec"]);
    expect(await backend.scanPrefix("")).toEqual(["run:42:spec", "run:43:spec"]);
    // Closing the view leaves the shared store open for the other runs.
    await ctx.kv().close();
    expect(await other.kv().get("spec")).toEqual({ v: 2 });
  });

  it("rejects bad options with KV_INVALID_ARGUMENT", () => {
    const bad = [
      undefined,
      {},
      { kv: {} },
      { kv: store(), runId: "" },
      { kv: store(), runId: 7 },
      { kv: store(), scope: "global" },
    ];
    for (const options of bad) {
      let caught: unknown;
      try {
        createContext(options as never);
      } catch (err) {
        caught = err;
      }
      expect(isKVError(caught, "KV_INVALID_ARGUMENT")).toBe(true);
      expect((caught as Error).message).toMatch(/^createContext: /);
    }
  });
});

describe("the current context", () => {
  it("is undefined (or an error) outside a run", () => {
    expect(tryCurrentContext()).toBeUndefined();
    expect(() => currentContext()).toThrow(/currentContext: no context is active here/);
    let caught: unknown;
    try {
      kv();
    } catch (err) {
      caught = err;
    }
    expect(isKVError(caught, "KV_INVALID_ARGUMENT")).toBe(true);
  });

  it("is reachable from deep async code, and kv() is its store", async () => {
    const ctx = createContext({ kv: store(), runId: "deep" });
    async function deep(): Promise<string> {
      await sleep(1);
      await new Promise((resolve) => setImmediate(resolve));
      await kv().set("seen-by", currentContext().runId);
      return (await kv().get<string>("seen-by"))!;
    }
    const result = await runWithContext(ctx, () => deep());
    expect(result).toBe("deep");
    expect(tryCurrentContext()).toBeUndefined();
  });

  it("keeps concurrent runs apart", async () => {
    const backend = store();
    const runs = ["a", "b", "c"].map((runId) =>
      createContext({ kv: backend, runId, scope: "run" }),
    );
    async function step(n: number): Promise<void> {
      await sleep(n % 3);
      await kv().incr("steps");
    }
    const seen = await Promise.all(
      runs.map((ctx, i) =>
        ctx.run(async () => {
          for (let n = 0; n <= i; n++) await step(n);
          return `${currentContext().runId}:${await kv().get("steps")}`;
        }),
      ),
    );
    expect(seen).toEqual(["a:1", "b:2", "c:3"]);
  });

  it("nests: the inner run wins inside it and the outer one is back after", async () => {
    const outer = createContext({ kv: store(), runId: "outer" });
    const inner = createContext({ kv: store(), runId: "inner" });
    const ids: string[] = [];
    await outer.run(async () => {
      ids.push(currentContext().runId);
      await inner.run(async () => {
        await sleep(1);
        ids.push(currentContext().runId);
      });
      ids.push(currentContext().runId);
    });
    expect(ids).toEqual(["outer", "inner", "outer"]);
  });

  it("returns what the function returns, synchronously too", () => {
    const ctx = createContext({ kv: store(), runId: "sync" });
    expect(runWithContext(ctx, () => currentContext().runId)).toBe("sync");
    expect(ctx.run(() => 7)).toBe(7);
  });

  it("rejects something that is not a context", () => {
    expect(() => runWithContext({} as KVContext, () => 1)).toThrow(
      /runWithContext: context must come from createContext/,
    );
  });
});
