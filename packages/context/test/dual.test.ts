// The ESM and CJS builds are two module instances in one process (a framework that
// require()s @kv/context beside an app that imports it). They must share the backend
// registry and the current context. Checked on the built files.
import { createRequire } from "node:module";
import { MemoryBackend } from "@kv/memory";
import { describe, expect, it } from "vitest";

type Api = typeof import("../src/index.js");
const esm = (await import("../dist/index.js" as string)) as Api;
const cjs = createRequire(import.meta.url)("../dist/index.cjs") as Api;

describe("the ESM and CJS builds in one process", () => {
  it("are different module instances", () => {
    expect(esm.createKV).not.toBe(cjs.createKV);
  });

  it("share the backends registered through either", async () => {
    const undo = esm.registerBackend(
      "dual",
      () => new MemoryBackend({ purgeIntervalSeconds: false }),
    );
    try {
      const kv = await cjs.createKV("dual://");
      expect(kv).toBeInstanceOf(MemoryBackend);
      await kv.close();
    } finally {
      undo();
    }
    expect(cjs.knownSchemes()).not.toContain("dual");
  });

  it("share the current context", async () => {
    const backend = new MemoryBackend({ purgeIntervalSeconds: false });
    const context = cjs.createContext({ kv: backend, runId: "dual" });
    const seen = await esm.runWithContext(context, async () => {
      await Promise.resolve();
      return [cjs.currentContext().runId, esm.kv() === backend];
    });
    expect(seen).toEqual(["dual", true]);
    await backend.close();
  });
});
