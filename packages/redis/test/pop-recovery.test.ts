import { execFile } from "node:child_process";
import { join } from "node:path";
import { type FaultProxy, startProxy } from "@kv/fault-proxy";
import { type RedisServer, startRedis } from "@kv/redis-harness";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inFlightKey } from "../src/exactly-once/side-keys.js";
import { RedisBackend } from "../src/index.js";
import { buildBundle, packageRoot } from "./bundle.js";
import { haveRedis, sleep, uniquePrefix } from "./helpers.js";

/** No item lost by a pop: put back by the popper, or taken over after the lease. */
describe.skipIf(!haveRedis)("pop recovery", () => {
  let server: RedisServer;
  let proxy: FaultProxy;
  let raw: Redis;
  let bundle: { url: string; remove: () => void };
  beforeAll(async () => {
    [server, bundle] = await Promise.all([startRedis(), buildBundle("pop-recovery")]);
    proxy = await startProxy({ target: { host: server.host, port: server.port } });
    raw = new Redis({ host: server.host, port: server.port });
  });
  afterAll(async () => {
    raw?.disconnect();
    await proxy?.close();
    await server?.stop();
    bundle?.remove();
  });

  /**
   * Another process pops `prefix + "inbox"` and exits without acknowledging (its items
   * stay in flight until the lease ends); resolves with what it popped.
   */
  function popAndDie(prefix: string, leaseMs: number): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      const fixture = join(packageRoot, "test/fixtures/pop-and-die.mjs");
      const args = [fixture, bundle.url, server.url, prefix, "inbox", "1000", String(leaseMs)];
      execFile(process.execPath, args, { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      );
    });
  }

  /**
   * A pop of `key` whose reply is lost, the server then out of reach to the end of the
   * call's budget (every reconnection refused): it fails, and may have taken effect.
   */
  async function popThatFails(kv: RedisBackend, key: string): Promise<void> {
    proxy.dropNextReply(1, { commands: ["EVALSHA", "EVAL"] });
    const failed = kv.listPopAll(key).catch((e: unknown) => e);
    await sleep(20);
    proxy.cut();
    expect(await failed).toMatchObject({ code: "KV_UNAVAILABLE", mayHaveTakenEffect: true });
  }

  /** The list stored under `fullKey` once it holds `length` items (or after 10 s). */
  async function listOnceItHolds(fullKey: string, length: number): Promise<unknown[]> {
    const start = performance.now();
    let list: unknown[] = [];
    while (list.length < length && performance.now() - start < 10_000) {
      await sleep(50);
      list = JSON.parse((await raw.get(fullKey)) ?? "[]");
    }
    console.info(
      `put back ${((performance.now() - start) / 1000).toFixed(2)} s after the server could be reached again`,
    );
    return list;
  }

  it("a failed pop puts its items back under the key, ahead of later appends, without repeating an id", async () => {
    const prefix = uniquePrefix("putback");
    const kv = new RedisBackend({ url: proxy.url, prefix, commandTimeoutMs: 1000 });
    try {
      await kv.listPopAll("warm-up"); // the script cached: the drop hits the pop itself
      await kv.listAppendUnique("inbox", [{ id: 1 }, { id: 2 }, { id: 3 }]);
      await popThatFails(kv, "inbox");
      // Meanwhile a producer appends a new item, and one of the popped ones again.
      const producer = new RedisBackend({ url: server.url, prefix });
      await producer.listAppendUnique("inbox", [{ id: 4 }, { id: 2 }]);
      await producer.close();
      expect(await raw.get(`${prefix}inbox`)).toBe('[{"id":4},{"id":2}]');
      proxy.restore();
      const back = await listOnceItHolds(`${prefix}inbox`, 4);
      expect(back).toEqual([{ id: 1 }, { id: 3 }, { id: 4 }, { id: 2 }]);
      expect(await kv.listPopAll("inbox")).toEqual([{ id: 1 }, { id: 3 }, { id: 4 }, { id: 2 }]);
    } finally {
      proxy.clearFaults();
      await kv.close();
    }
  });

  it("a put-back never drops a different item that shares an id field (items appended with another idKey)", async () => {
    const prefix = uniquePrefix("putback-idkey");
    const kv = new RedisBackend({ url: proxy.url, prefix, commandTimeoutMs: 1000 });
    try {
      await kv.listPopAll("warm-up");
      const popped = [
        { msgId: "a", id: 7 },
        { msgId: "b", id: 7 },
      ];
      await kv.listAppendUnique("inbox", popped, { idKey: "msgId" });
      await popThatFails(kv, "inbox");
      const producer = new RedisBackend({ url: server.url, prefix });
      await producer.listAppendUnique("inbox", [{ msgId: "c", id: 7 }], { idKey: "msgId" });
      await producer.close();
      proxy.restore();
      expect(await listOnceItHolds(`${prefix}inbox`, 3)).toEqual([
        ...popped,
        { msgId: "c", id: 7 },
      ]);
    } finally {
      proxy.clearFaults();
      await kv.close();
    }
  });

  it("a process that died before acknowledging: its items come back after the lease, to a waiting pop", async () => {
    const prefix = uniquePrefix("orphan");
    const leaseMs = 3000;
    const kv = new RedisBackend({
      url: server.url,
      prefix,
      commandTimeoutMs: 1000,
      popLeaseMs: leaseMs,
    });
    try {
      await kv.listAppendUnique("inbox", [{ id: "a" }, { id: "b" }]);
      const popped = await popAndDie(prefix, leaseMs);
      const died = performance.now();
      expect(popped).toEqual([{ id: "a" }, { id: "b" }]);
      // Still in flight: the process never acknowledged (one pop: its items and its lease
      // end, two fields).
      expect(await raw.hlen(inFlightKey(`${prefix}inbox`))).toBe(2);
      // A waiting pop is woken when the lease ends (no polling), and takes them over.
      const items = await kv.listPopAll("inbox", { waitSeconds: 15 });
      const after = performance.now() - died;
      expect(items).toEqual([{ id: "a" }, { id: "b" }]);
      expect(after).toBeLessThan(leaseMs + 5000);
      console.info(
        `orphaned pop recovered ${(after / 1000).toFixed(2)} s after its process died (lease ${leaseMs / 1000} s)`,
      );
      await sleep(200);
      expect(await raw.hlen(inFlightKey(`${prefix}inbox`))).toBe(0);
    } finally {
      await kv.close();
    }
  });

  it("a backend that connects after a popper died puts its items back under the key when the lease ends, no pop needed", async () => {
    const prefix = uniquePrefix("sweep");
    const leaseMs = 3000;
    const producer = new RedisBackend({ url: server.url, prefix });
    await producer.listAppendUnique("inbox", [{ id: "a" }, { id: "b" }]);
    await producer.close();
    await popAndDie(prefix, leaseMs);
    const died = performance.now();
    expect(await raw.get(`${prefix}inbox`)).toBeNull();
    // A new backend of the namespace, doing nothing: its start-up sweep finds the pop.
    const kv = new RedisBackend({ url: server.url, prefix, commandTimeoutMs: 1000 });
    try {
      let back: string | null = null;
      while (back === null && performance.now() - died < leaseMs + 10_000) {
        await sleep(50);
        back = await raw.get(`${prefix}inbox`);
      }
      const after = performance.now() - died;
      expect(back).toBe('[{"id":"a"},{"id":"b"}]');
      expect(await raw.hlen(inFlightKey(`${prefix}inbox`))).toBe(0);
      console.info(
        `orphaned pop put back under its key by a new backend's sweep ${(after / 1000).toFixed(2)} s after its process died (lease ${leaseMs / 1000} s)`,
      );
    } finally {
      await kv.close();
    }
  });
});
