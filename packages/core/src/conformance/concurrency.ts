import type { KVBackend } from "../types.js";
import { expect } from "./assert.js";
import { show, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";
import { popWaiting, turn } from "./waiting-pops.js";

interface Message {
  id: string | number;
  by: number;
}

export function defineConcurrencyTests(suite: Suite): void {
  const { describe, it } = suite.t;
  // SPEC "Concurrency": "Every call is atomic, and concurrent calls behave as if run one at a
  // time in an order consistent with when they were made (linearizable). For a remote
  // backend this holds across every client of the same server." Calls alternate between
  // two clients when the backend has a `connectPeer`.
  describe("concurrency", "Concurrency", () => {
    const h = useHarness(suite, { peer: true });
    if (suite.caps.nearCache) {
      suite.leaveOut(
        "concurrency: reads of another client's finished writes",
        "capabilities.nearCache: such reads may be up to the staleness bound old",
      );
    }
    /** The client of call `i`: the test's store and its peer, in turn. */
    const client = (i: number): KVBackend => (i % 2 === 0 ? h.kv : h.peer);

    it("200 concurrent listAppendUnique calls with overlapping ids leave each distinct id once", async () => {
      const calls = Array.from({ length: 200 }, (_, i) => {
        const items: Message[] = [
          { id: i % 50, by: i },
          { id: (i * 7) % 50, by: i },
          { id: `s${i % 30}`, by: i },
        ];
        return { items, result: client(i).listAppendUnique("inbox", items) };
      });
      const results = await Promise.all(calls.map((c) => c.result));
      const final = (await h.kv.get<Message[]>("inbox")) ?? [];
      const ids = final.map((m) => m.id);
      expect(new Set(ids).size, `every id once (got ${ids.length} elements)`).toBe(ids.length);
      const expected = new Set<string | number>();
      for (const { items } of calls) for (const item of items) expected.add(item.id);
      expect(new Set(ids), "exactly the distinct ids").toEqual(expected);
      for (const element of final) {
        const origin = calls[element.by]?.items.some((item) => item.id === element.id);
        expect(origin, `${show(element)} is an item of call ${element.by}`).toBe(true);
      }
      // A list only grows: in a linearizable history each call returned a prefix of the
      // final list that holds every id it passed.
      for (const [i, result] of results.entries()) {
        expect(result, `call ${i} returned a prefix of the final list`).toEqual(
          final.slice(0, result.length),
        );
        const returned = new Set(result.map((m) => m.id));
        for (const item of calls[i]!.items) {
          expect(returned.has(item.id), `call ${i}'s result holds its id ${show(item.id)}`).toBe(
            true,
          );
        }
      }
    });

    // SPEC "Lists": "Under concurrent appends and pops every appended item is returned by
    // exactly one pop."
    it("interleaved appends and pops return every appended item exactly once", async () => {
      const appended: string[] = [];
      const ops: Promise<unknown[]>[] = [];
      for (let i = 0; i < 160; i++) {
        if (i % 4 === 3) {
          ops.push(client(i).listPopAll("queue"));
        } else {
          const items = [{ id: `m${i}a` }, { id: `m${i}b` }];
          appended.push(...items.map((m) => m.id));
          ops.push(
            client(i)
              .listAppendUnique("queue", items)
              .then(() => []),
          );
        }
      }
      const popped = (await Promise.all(ops)).flat() as Array<{ id: string }>;
      popped.push(...(await h.kv.listPopAll<{ id: string }>("queue")));
      const counts = new Map<string, number>();
      for (const { id } of popped) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const id of appended) {
        expect(counts.get(id) ?? 0, `item ${id} was popped this many times`).toBe(1);
      }
      expect(popped.length, "no item was popped that was not appended").toBe(appended.length);
      expect(await h.kv.exists("queue"), "the queue is empty at the end").toBe(false);
    });

    it("concurrent pops of one list: exactly one gets the items", async () => {
      await h.kv.listAppendUnique("list", [{ id: 1 }, { id: 2 }]);
      const pops = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client(i).listPopAll("list")),
      );
      const winners = pops.filter((p) => p.length > 0);
      expect(winners, "exactly one pop returns the list").toEqual([[{ id: 1 }, { id: 2 }]]);
    });

    it("500 concurrent incr calls sum exactly, each returning a distinct value", async () => {
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => client(i).incr("counter")),
      );
      expect(await h.kv.get("counter"), "the final count").toBe(500);
      expect(
        [...results].sort((a, b) => a - b),
        "the calls returned 1..500, each once",
      ).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      const amounts = Array.from({ length: 200 }, (_, i) => (i % 7) - 3);
      await Promise.all(amounts.map((amount, i) => client(i).incr("mixed", amount)));
      expect(await h.kv.get("mixed"), "mixed amounts sum exactly").toBe(
        amounts.reduce((a, b) => a + b, 0),
      );
    });

    it("concurrent deletes of one key: exactly one returns true", async () => {
      await h.kv.set("k", 1);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client(i).delete("k")),
      );
      expect(results.filter(Boolean).length, "deletes that removed the key").toBe(1);
    });

    it("concurrent sets and gets see whole values, and a finished write is seen by every client", async () => {
      // With a near cache a client may read another's write up to the staleness bound late.
      const otherReads = !suite.caps.nearCache;
      const writes = Array.from({ length: 100 }, (_, i) =>
        client(i).set(`k${i}`, { i, pad: "x".repeat(i) }),
      );
      const reads = Array.from({ length: 100 }, (_, i) => client(i + 1).get(`k${i}`));
      await Promise.all(writes);
      for (const [i, value] of (await Promise.all(reads)).entries()) {
        if (value !== undefined) {
          expect(value, `a concurrent read of k${i}`).toEqual({ i, pad: "x".repeat(i) });
        }
      }
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      // With a near cache, each key is read back by the client that wrote it (its own
      // writes are visible at once); without one, every key by the other client.
      const readBack = otherReads
        ? await h.peer.mget(keys)
        : await Promise.all(keys.map((key, i) => client(i).get(key)));
      expect(
        readBack,
        otherReads ? "every write, read by the other client" : "every write, read by its writer",
      ).toEqual(Array.from({ length: 100 }, (_, i) => ({ i, pad: "x".repeat(i) })));
      await Promise.all(Array.from({ length: 50 }, (_, i) => client(i).set("same", i)));
      const last = await h.kv.get("same");
      expect(
        typeof last === "number" && last >= 0 && last < 50,
        `one of the writes won (got ${show(last)})`,
      ).toBe(true);
      if (!otherReads) return;
      expect(await h.peer.get("same"), "both clients agree").toBe(last);
      await h.peer.delete("same");
      expect(await h.kv.exists("same"), "a finished delete is seen by the other client").toBe(
        false,
      );
    });

    // SPEC "Concurrency" and "Lists": producers, consumers (some of them waiting) and
    // counters all at once, then a checker: the fault runs of @kv/redis, without the faults.
    it("producers, consumers and counters at once: no item lost or delivered twice, every counter exact", async () => {
      const report = await runExactlyOnce(client, suite.caps.waitingPops !== "none");
      const { lost, twice, unknown, counterErrors } = report;
      expect(
        { lost, twice, unknown, counterErrors },
        `exactly-once checker: ${report.appended} items appended by ${PRODUCERS} producers to ${INBOXES.length} inboxes, ${report.delivered} deliveries to ${CONSUMERS} consumers (${report.byWaitingPops} by waiting pops); lost ${lost}, delivered twice ${twice}, never appended ${unknown}; counters: ${report.counters}`,
      ).toEqual({ lost: 0, twice: 0, unknown: 0, counterErrors: 0 });
    });

    // SPEC "Batches": mset is all-or-nothing; on a sharded deployment atomicity holds per
    // hash slot, and "keys that share a hash tag ({tag}) stay atomic together".
    it("a concurrent mget never sees half of an mset", async () => {
      const a = "{pair}:a";
      const b = "{pair}:b";
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        if (i % 2 === 0) {
          ops.push(client(i / 2).mset({ [a]: i, [b]: i }));
        } else {
          ops.push(
            client((i + 1) / 2)
              .mget([a, b])
              .then(([x, y]) => {
                expect(x, `mget saw ${show(x)} and ${show(y)}: half of an mset`).toEqual(y);
              }),
          );
        }
      }
      await Promise.all(ops);
      const [x, y] = await h.kv.mget([a, b]);
      expect(x, "the last mset wins for both keys").toEqual(y);
    });
  });
}

const PRODUCERS = 4;
const CONSUMERS = 4;
const ITEMS_PER_PRODUCER = 60;
const INBOXES = ["inbox:0", "inbox:1", "inbox:2"];
const COUNTERS = ["count:0", "count:1"];

interface ExactlyOnceReport {
  appended: number;
  delivered: number;
  byWaitingPops: number;
  lost: number;
  twice: number;
  unknown: number;
  counterErrors: number;
  counters: string;
}

/**
 * Producers append unique items in batches of 1 to 3 and count each append in a
 * counter; consumers pop (half of them with waiting pops) until the producers are done;
 * then the inboxes are drained and every item's deliveries counted.
 */
async function runExactlyOnce(
  client: (i: number) => KVBackend,
  waiting: boolean,
): Promise<ExactlyOnceReport> {
  const appended = new Set<string>();
  const deliveries = new Map<string, number>();
  const increments = new Map<string, number>(COUNTERS.map((c) => [c, 0]));
  let byWaitingPops = 0;
  let producing = true;

  const receive = (items: { id: string }[], byWait: boolean) => {
    for (const { id } of items) deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    if (byWait) byWaitingPops += items.length;
  };

  const producer = async (p: number) => {
    for (let n = 0; n < ITEMS_PER_PRODUCER; ) {
      const size = 1 + ((p + n) % 3);
      const batch = Array.from({ length: size }, (_, k) => ({ id: `p${p}-${n + k}` }));
      n += size;
      const kv = client(p + n);
      await kv.listAppendUnique(INBOXES[n % INBOXES.length]!, batch);
      for (const { id } of batch) appended.add(id);
      const counter = COUNTERS[n % COUNTERS.length]!;
      await kv.incr(counter, size);
      increments.set(counter, increments.get(counter)! + size);
    }
  };

  const consumer = async (c: number) => {
    const byWait = waiting && c % 2 === 1;
    for (let round = 0; producing; round++) {
      const inbox = INBOXES[(c + round) % INBOXES.length]!;
      const kv = client(c + round);
      const got = byWait
        ? await popWaiting<{ id: string }>(kv, inbox, { waitSeconds: 0.05 })
        : await kv.listPopAll<{ id: string }>(inbox);
      receive(got, byWait);
      // Never spin on microtasks alone: the producers' timers and sockets need turns too.
      if (got.length === 0) await turn();
    }
  };

  const consumers = Array.from({ length: CONSUMERS }, (_, c) => consumer(c));
  await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));
  producing = false;
  await Promise.all(consumers);
  for (const inbox of INBOXES) receive(await client(0).listPopAll<{ id: string }>(inbox), false);

  let counterErrors = 0;
  const counters: string[] = [];
  for (const [counter, done] of increments) {
    // incr by 0 reads the count as a write would: fresh even through a near cache.
    const value = await client(1).incr(counter, 0);
    if (value !== done) counterErrors++;
    counters.push(`${counter} = ${show(value)} for ${done} counted`);
  }
  let delivered = 0;
  for (const n of deliveries.values()) delivered += n;
  return {
    appended: appended.size,
    delivered,
    byWaitingPops,
    lost: [...appended].filter((id) => !deliveries.has(id)).length,
    twice: [...deliveries.values()].filter((n) => n > 1).length,
    unknown: [...deliveries.keys()].filter((id) => !appended.has(id)).length,
    counterErrors,
    counters: counters.join(", "),
  };
}
