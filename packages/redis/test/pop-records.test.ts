import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ServerClock } from "../src/exactly-once/server-clock.js";
import { inFlightKey, legacyInFlightKey } from "../src/exactly-once/side-keys.js";
import { RedisBackend } from "../src/index.js";
import { LIST_ACK, LIST_POP } from "../src/scripts/list-pop.lua.js";
import { haveRedis, redisUrl, sleep, uniquePrefix } from "./helpers.js";

const LEASE_MS = 20_000;

/**
 * A pop's lease end (exactly-once/server-clock.ts, scripts/list-pop.lua.ts): the backend
 * computes it from its reading of the server's clock, never before the server's own
 * TIME + lease, and reads that clock once per connection, not per pop; without a reading
 * the script reads TIME. The in-flight hash's two fields per pop, the records an earlier
 * version left, and when acknowledgements leave.
 */
describe.skipIf(!haveRedis)("pop records: lease ends, layout, acknowledgements", () => {
  let raw: Redis;
  const sent: { command: string; args: string[] }[] = [];
  const onCommand = (message: unknown) => {
    sent.push(message as { command: string; args: string[] });
  };
  beforeAll(() => {
    raw = new Redis(redisUrl);
    subscribe("tracing:ioredis:command:start", onCommand);
  });
  afterAll(() => {
    unsubscribe("tracing:ioredis:command:start", onCommand);
    raw?.disconnect();
  });
  afterEach(() => {
    sent.length = 0;
    ownTimes = 0;
  });

  /** The TIME commands this test sent itself (the tracing channel sees every client's). */
  let ownTimes = 0;
  async function serverMs(): Promise<number> {
    ownTimes++;
    const [seconds, micros] = await raw.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** The lease ends the backend's pops sent (ARGV[3] of LIST_POP; "" = the script's TIME). */
  function leaseEndsSent(): string[] {
    return sent
      .filter((c) => c.command.toLowerCase() === "evalsha" && c.args[0] === LIST_POP.sha)
      .map((c) => c.args[6]!);
  }

  it("are the server's time plus the lease, never earlier, from one reading of its clock", async () => {
    const prefix = uniquePrefix("lease");
    const kv = new RedisBackend({ url: redisUrl, prefix, popLeaseMs: LEASE_MS });
    try {
      await kv.exists("warm-up");
      // The reading is asked for on connection: the pops once it has come back carry it.
      let measured = 0;
      for (let i = 0; i < 500 && measured < 50; i++) {
        await kv.listAppendUnique("inbox", [{ id: i }]);
        const before = await serverMs();
        expect(await kv.listPopAll("inbox")).toEqual([{ id: i }]);
        const after = await serverMs();
        const leaseEnd = leaseEndsSent().at(-1);
        if (leaseEnd === "") {
          expect(measured).toBe(0); // once read, the clock stays known
          continue;
        }
        measured++;
        expect(Number(leaseEnd)).toBeGreaterThanOrEqual(before + LEASE_MS);
        // Late by at most the reading's round trip (generous for a loaded machine).
        expect(Number(leaseEnd)).toBeLessThanOrEqual(after + LEASE_MS + 1000);
      }
      expect(measured).toBe(50);
      // One reading of the clock for all those pops.
      const times = sent.filter((c) => c.command.toLowerCase() === "time").length - ownTimes;
      expect(times).toBeLessThanOrEqual(1);
    } finally {
      await kv.close();
    }
  });

  it("are read again after a reconnection (the server may be another machine)", async () => {
    const prefix = uniquePrefix("lease-reconnect");
    const name = `lease-reconnect-${process.pid}`;
    const kv = new RedisBackend({
      url: redisUrl,
      prefix,
      popLeaseMs: LEASE_MS,
      redisOptions: { connectionName: name },
    });
    try {
      // Until the pops carry the connection's reading.
      for (let i = 0; i < 200; i++) {
        await kv.listPopAll("warm-up");
        if (leaseEndsSent().at(-1) !== "") break;
        await sleep(10);
      }
      expect(leaseEndsSent().at(-1)).not.toBe("");
      // Only this backend's connection: the other test files share the server.
      const id = /id=(\d+) [^\n]* name=([^ ]*)/g;
      const list = String(await raw.client("LIST"));
      const ours = [...list.matchAll(id)].filter((m) => m[2] === name).map((m) => m[1]!);
      expect(ours.length).toBe(1);
      sent.length = 0;
      await raw.client("KILL", "ID", ours[0]!);
      // The pop sent on the new connection carries no lease end of the old one's reading:
      // the script reads TIME until the new reading is back.
      await kv.listPopAll("inbox");
      expect(leaseEndsSent().at(-1)).toBe("");
      // The next calls wait for the reconnection; the reading follows it.
      for (let i = 0; i < 200 && !sent.some((c) => c.command.toLowerCase() === "time"); i++) {
        await kv.listPopAll("inbox");
        await sleep(10);
      }
      expect(sent.some((c) => c.command.toLowerCase() === "time")).toBe(true);
    } finally {
      await kv.close();
    }
  });

  it("a clock reading stays never early when this process's monotonic clock stood still (a suspended machine)", async () => {
    // The reading's clocks, on a real connection to the server; only the process's
    // monotonic clock is made to lag, as after a suspend or a paused VM.
    const client = new Redis(redisUrl);
    const link = {
      client,
      get isReady() {
        return client.status === "ready";
      },
      onReady: () => () => undefined,
    };
    const clock = new ServerClock(link as unknown as ConstructorParameters<typeof ServerClock>[0]);
    const realNow = performance.now.bind(performance);
    try {
      await client.ping();
      expect(clock.leaseEnd(LEASE_MS)).toBe(""); // asks for the reading
      for (let i = 0; i < 200 && clock.leaseEnd(LEASE_MS) === ""; i++) await sleep(5);
      const lag = 30_000;
      performance.now = () => realNow() - lag;
      const before = await serverMs();
      const leaseEnd = Number(clock.leaseEnd(LEASE_MS));
      expect(leaseEnd).toBeGreaterThanOrEqual(before + LEASE_MS);
    } finally {
      performance.now = realNow;
      clock.close();
      client.disconnect();
    }
  });

  it("without a reading, the pop's script takes TIME + the lease", async () => {
    const key = `${uniquePrefix("lease-script")}inbox`;
    await raw.set(key, '[{"id":1}]');
    const before = await serverMs();
    const reply = await raw
      .evalsha(LIST_POP.sha, 2, key, inFlightKey(key), "p1", LEASE_MS, "")
      .catch(() => raw.eval(LIST_POP.lua, 2, key, inFlightKey(key), "p1", LEASE_MS, ""));
    const after = await serverMs();
    expect(reply).toBe('[{"id":1}]');
    const record = await raw.hgetall(inFlightKey(key));
    expect(record.p1).toBe('[{"id":1}]');
    expect(Number(record["@p1"])).toBeGreaterThanOrEqual(before + LEASE_MS);
    expect(Number(record["@p1"])).toBeLessThanOrEqual(after + LEASE_MS);
    await raw.del(inFlightKey(key));
  });

  it("a record without its lease end is taken over at once; a lease end without its record goes", async () => {
    const prefix = uniquePrefix("lease-odd");
    const kv = new RedisBackend({ url: redisUrl, prefix, popLeaseMs: LEASE_MS });
    const hash = inFlightKey(`${prefix}inbox`);
    try {
      await raw.hset(hash, "lost", '[{"id":"a"}]', "@ghost", "1");
      await kv.listAppendUnique("inbox", [{ id: "b" }]);
      expect(await kv.listPopAll("inbox")).toEqual([{ id: "a" }, { id: "b" }]);
      const fields = Object.keys(await raw.hgetall(hash));
      expect(fields).not.toContain("lost");
      expect(fields).not.toContain("@ghost");
    } finally {
      await kv.close();
    }
    // Closed: our own pop was acknowledged, so nothing is left in flight.
    expect(await raw.exists(hash)).toBe(0);
  });

  it("a pop an earlier version left (its own hash name, <lease end>|<items>) is put back by the sweep", async () => {
    const prefix = uniquePrefix("lease-legacy");
    const key = `${prefix}inbox`;
    const legacy = legacyInFlightKey(key);
    const later = (await serverMs()) + 60_000;
    await raw.hset(legacy, "ended", '1|[{"id":"old"}]', "running", `${later}|[{"id":"busy"}]`);
    await raw.set(key, '[{"id":"new"}]');
    // A backend of the namespace starts, doing nothing: its sweep puts the ended pop back,
    // ahead of the list's own items, and leaves the running one alone.
    const kv = new RedisBackend({ url: redisUrl, prefix, popLeaseMs: LEASE_MS });
    try {
      let list: string | null = null;
      for (let i = 0; i < 400 && list !== '[{"id":"old"},{"id":"new"}]'; i++) {
        await sleep(25);
        list = await raw.get(key);
      }
      expect(list).toBe('[{"id":"old"},{"id":"new"}]');
      expect(await raw.hget(legacy, "running")).toBe(`${later}|[{"id":"busy"}]`);
      expect(await raw.hexists(legacy, "ended")).toBe(0);
    } finally {
      await kv.close();
      await raw.del(legacy);
    }
  });

  it("a hundred acknowledgements owed leave at once, not after the 50 ms wait", async () => {
    const prefix = uniquePrefix("acks");
    const kv = new RedisBackend({ url: redisUrl, prefix, popLeaseMs: LEASE_MS });
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `inbox:${i}`);
      await kv.mset(Object.fromEntries(keys.map((k) => [k, [{ id: 1 }]])));
      await kv.exists("connected");
      sent.length = 0;
      await Promise.all(keys.map((k) => kv.listPopAll(k)));
      // The group's flush is due within a millisecond; this timer was set after it.
      await sleep(10);
      const acks = sent.filter(
        (c) => c.command.toLowerCase() === "evalsha" && c.args[0] === LIST_ACK.sha,
      );
      expect(acks.length).toBe(1);
      expect(Number(acks[0]!.args[1])).toBe(100);
    } finally {
      await kv.close();
    }
  });
});
