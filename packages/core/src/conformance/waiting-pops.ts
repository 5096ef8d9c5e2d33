import { namespaced } from "../namespace.js";
import type { KVBackend } from "../types.js";
import { expect, fail, show } from "./assert.js";
import { bad, expectRejectedUnchanged, expectRejection, useHarness } from "./harness.js";
import type { Suite } from "./suite.js";

/*
 * Waiting pops (SPEC "Lists"): `listPopAll(key, { waitSeconds, signal })`. The wait's end
 * is real time in every backend (a timer), manual clock or not, so these tests wait for
 * real: 0.05 to 0.3 s where a wait must run out, and generous waits (WAIT_S) where a
 * write must end it first. No upper bound on wall-clock time is asserted beyond those.
 */

export interface WaitOptions {
  waitSeconds?: number;
  signal?: AbortSignal;
}

/** A wait long enough that only the write under test, never its end, can settle it. */
export const WAIT_S = 20;

/** `kv.listPopAll(key, options)`: typed here, as a backend's own type may predate v2. */
export function popWaiting<T = unknown>(
  kv: KVBackend,
  key: string,
  options: WaitOptions,
): Promise<T[]> {
  const pop = kv.listPopAll as (key: string, options?: WaitOptions) => Promise<T[]>;
  return pop.call(kv, key, options);
}

/** One macrotask turn: what a write's wake-up may take in process. */
export const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The MaxListenersExceededWarning messages the runtime emits about `signal` until
 * `stop()` (Node emits them on `process`, a tick later, with the signal as `target`; a
 * runtime without process warnings reports none).
 */
function watchListenerWarnings(signal: AbortSignal): { stop(): string[] } {
  type WarningSource = {
    on?(event: "warning", listener: (warning: Error) => void): unknown;
    off?(event: "warning", listener: (warning: Error) => void): unknown;
  };
  const source = (globalThis as { process?: WarningSource }).process;
  const seen: string[] = [];
  const listener = (warning: Error & { target?: unknown; emitter?: unknown }) => {
    if (warning?.name !== "MaxListenersExceededWarning") return;
    // Node names the signal as `target` (an EventEmitter's warning has `emitter`
    // instead: a socket's, a client's, not ours); a runtime that names neither counts.
    const about = "target" in warning ? warning.target === signal : !("emitter" in warning);
    if (about) seen.push(warning.message);
  };
  source?.on?.("warning", listener);
  return {
    stop() {
      source?.off?.("warning", listener);
      return seen;
    },
  };
}

/** A promise's outcome, readable without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

export function defineWaitingPopTests(suite: Suite): void {
  const { describe, it } = suite.t;
  const { caps } = suite;
  if (caps.waitingPops === "none") {
    suite.leaveOut(
      "waiting pops (listPopAll with waitSeconds)",
      'capabilities.waitingPops is "none" (SPEC v2 "Lists" requires them: declare "notify" or "poll" once implemented)',
    );
    return;
  }
  const inProcessNotify = caps.waitingPops === "notify" && !caps.remote;
  // A remote waiter registers asynchronously (a subscription); a moment lets it settle in
  // before the write, so the test checks the wake-up, not a race it would win by luck.
  const settleIn = () => (caps.remote ? sleep(100) : turn());

  describe("waiting pops", "Lists", () => {
    const h = useHarness(suite, { peer: true });

    it("returns at once what the key already holds, and deletes the key", async () => {
      await h.kv.listAppendUnique("inbox", [{ id: 1 }, { id: 2 }]);
      const got = await popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S });
      expect(got, "listPopAll(inbox, { waitSeconds }) on a non-empty list").toEqual([
        { id: 1 },
        { id: 2 },
      ]);
      expect(await h.kv.exists("inbox"), "the key after the pop").toBe(false);
    });

    it("wakes on listAppendUnique and pops the list", async () => {
      const waiting = popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S });
      const state = track(waiting);
      await settleIn();
      expect(state.settled, "a wait on an empty key settled before any write").toBe(false);
      await h.kv.listAppendUnique("inbox", [{ id: "a" }]);
      expect(await waiting, "what the woken wait returned").toEqual([{ id: "a" }]);
      expect(await h.kv.exists("inbox"), "the key after the woken pop").toBe(false);
    });

    if (inProcessNotify) {
      it("wakes in process without polling: settled a turn after the append resolved", async () => {
        const state = track(popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S }));
        await turn();
        await h.kv.listAppendUnique("inbox", [{ id: 1 }]);
        await turn();
        expect(
          state.settled,
          'a waiter one macrotask after the append resolved (capabilities.waitingPops "notify": woken by the write, not by a poll; declare "poll" for a polling backend)',
        ).toBe(true);
        expect(state.value, "what the woken wait returned").toEqual([{ id: 1 }]);
      });
    } else {
      suite.leaveOut(
        "waiting pops: same-turn wake-up and longest-waiting-first order",
        caps.remote
          ? "a remote backend's order is best effort (capabilities.remote)"
          : 'capabilities.waitingPops is "poll"',
      );
    }

    it("wakes on set and mset of a non-empty array, not on an empty one", async () => {
      // A missed wake-up still ends the wait with the items, but only at its deadline
      // (the wait pops once more then): so each wait must end long before it.
      const wokenSoon = async <T>(
        wait: Promise<T>,
        write: () => Promise<unknown>,
        label: string,
      ) => {
        const written = performance.now();
        await write();
        const got = await wait;
        expect(
          performance.now() - written,
          `${label}: ms from the write to the end of a ${WAIT_S} s wait (a missed wake-up waits it out)`,
        ).toBeLessThan((WAIT_S * 1000) / 2);
        return got;
      };
      const first = popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S });
      const state = track(first);
      await settleIn();
      await h.kv.set("inbox", []);
      await settleIn();
      expect(state.settled, "a wait after set(key, []): an empty list ends no wait").toBe(false);
      const bySet = await wokenSoon(first, () => h.kv.set("inbox", [{ id: 1 }]), "set");
      expect(bySet, "what a wait woken by set returned").toEqual([{ id: 1 }]);

      const second = popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S });
      await settleIn();
      const byMset = await wokenSoon(
        second,
        () => h.kv.mset({ other: 1, inbox: [{ id: 2 }, "x"] }),
        "mset",
      );
      expect(byMset, "what a wait woken by mset returned").toEqual([{ id: 2 }, "x"]);
      expect(await h.kv.exists("inbox"), "the key after the woken pop").toBe(false);
      expect(await h.kv.get("other"), "the other key of the mset").toBe(1);

      // Keys that share a Redis hash tag (one slot: a Cluster writes them with one
      // script), several filled lists among them.
      const third = popWaiting(h.kv, "{t}inbox", { waitSeconds: WAIT_S });
      await settleIn();
      const bySlot = await wokenSoon(
        third,
        () => h.kv.mset({ "{t}a": [1], "{t}b": 2, "{t}inbox": [{ id: 3 }], "{t}c": ["c"] }),
        "a same-slot mset",
      );
      expect(bySlot, "what a wait woken by a same-slot mset returned").toEqual([{ id: 3 }]);
      expect(await h.kv.mget(["{t}a", "{t}b", "{t}c"]), "the other keys of that mset").toEqual([
        [1],
        2,
        ["c"],
      ]);
    });

    it("returns [] once waitSeconds passed with nothing to pop, and pops nothing later", async () => {
      const started = performance.now();
      const got = await popWaiting(h.kv, "inbox", { waitSeconds: 0.1 });
      const elapsed = performance.now() - started;
      expect(got, "listPopAll(inbox, { waitSeconds: 0.1 }) on an empty key").toEqual([]);
      // Timers fire late on a loaded machine, never early (a few ms of rounding aside).
      expect(elapsed, "ms before an empty 0.1 s wait returned").toBeGreaterThanOrEqual(80);
      await h.kv.listAppendUnique("inbox", [{ id: 1 }]);
      await settleIn();
      expect(await h.kv.get("inbox"), "an append after the wait ended stays").toEqual([{ id: 1 }]);
    });

    it("rejects an invalid waitSeconds with KV_INVALID_ARGUMENT, popping nothing", async () => {
      await h.kv.listAppendUnique("inbox", [{ id: 1 }]);
      const invalid = [
        0,
        -1,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        "1",
        null,
        true,
        {},
      ];
      for (const waitSeconds of invalid) {
        await expectRejectedUnchanged(
          h,
          h.kv,
          () => popWaiting(h.kv, "inbox", { waitSeconds: bad(waitSeconds) }),
          "KV_INVALID_ARGUMENT",
          "listPopAll",
          /waitSeconds/,
          `listPopAll("inbox", { waitSeconds: ${show(waitSeconds)} })`,
        );
      }
    });

    it("aborts through signal: rejects with the signal's reason and pops nothing", async () => {
      const controller = new AbortController();
      const waiting = popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S, signal: controller.signal });
      const reason = new Error("the test aborted the wait");
      await settleIn();
      controller.abort(reason);
      const outcome = await waiting.then(
        (value) => fail(`an aborted wait resolved to ${show(value)}; it must reject`),
        (err: unknown) => err,
      );
      expect(outcome, "what an aborted wait rejected with (the signal's reason)").toBe(reason);
      await h.kv.listAppendUnique("inbox", [{ id: 1 }]);
      await settleIn();
      expect(await h.kv.get("inbox"), "an append after the abort (no one may pop it)").toEqual([
        { id: 1 },
      ]);

      // Already aborted: no wait at all, and the items already there stay.
      const aborted = new AbortController();
      aborted.abort();
      const early = await popWaiting(h.kv, "inbox", {
        waitSeconds: WAIT_S,
        signal: aborted.signal,
      }).then(
        (value) => fail(`a wait with an aborted signal resolved to ${show(value)}; it must reject`),
        (err: unknown) => err,
      );
      expect(early, "what a wait with an already aborted signal rejected with").toBe(
        aborted.signal.reason,
      );
      expect(await h.kv.get("inbox"), "the list after a wait with an aborted signal").toEqual([
        { id: 1 },
      ]);
    });

    it("one signal shared by many waits (a worker pool's shutdown) aborts every one of them", async () => {
      const controller = new AbortController();
      // Twelve: more than Node's default of ten listeners per signal. A listener per wait
      // makes Node print MaxListenersExceededWarning (a false leak alarm in the caller's
      // logs): watched where the runtime has process warnings.
      const leakWarnings = watchListenerWarnings(controller.signal);
      const keys = Array.from({ length: 12 }, (_, i) => `inbox:${i % 6}`);
      const waits = keys.map((key) =>
        popWaiting(h.kv, key, { waitSeconds: WAIT_S, signal: controller.signal }).then(
          (value) => fail(`a wait on ${key} resolved to ${show(value)} after the abort`),
          (err: unknown) => err,
        ),
      );
      await settleIn();
      const reason = new Error("the pool shuts down");
      controller.abort(reason);
      for (const [i, outcome] of (await Promise.all(waits)).entries()) {
        expect(outcome, `what wait ${i} (on ${keys[i]}) rejected with`).toBe(reason);
      }
      expect(
        leakWarnings.stop(),
        "MaxListenersExceededWarning while 12 waits shared one signal (add one listener per signal, not per wait)",
      ).toEqual([]);
      await h.kv.listAppendUnique("inbox:0", [{ id: 1 }]);
      await settleIn();
      expect(await h.kv.get("inbox:0"), "an append after the abort (no one may pop it)").toEqual([
        { id: 1 },
      ]);
    });

    it("close() rejects every pending wait with KV_CLOSED", async () => {
      const kv = h.kv;
      const waits = ["a", "b", "a"].map((key) => popWaiting(kv, key, { waitSeconds: WAIT_S }));
      for (const wait of waits) wait.catch(() => {}); // judged below, after close()
      await settleIn();
      await kv.close();
      for (const [i, wait] of waits.entries()) {
        await expectRejection(
          () => wait,
          "KV_CLOSED",
          "listPopAll",
          undefined,
          `pending wait ${i} after close()`,
        );
      }
    });

    if (inProcessNotify) {
      it("gives each batch to the longest-waiting waiter first", async () => {
        const waits: Promise<unknown[]>[] = [];
        for (let i = 0; i < 3; i++) {
          waits.push(popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S }));
          await turn();
        }
        for (let i = 0; i < 3; i++) {
          await h.kv.listAppendUnique("inbox", [{ id: i }]);
          expect(await waits[i], `what waiter ${i} (in order of waiting) got`).toEqual([{ id: i }]);
        }
      });
    }

    it("50 waiters on one key, 200 appended batches: every item delivered exactly once", async () => {
      const client = (i: number) => (i % 2 === 0 ? h.kv : h.peer);
      const controller = new AbortController();
      const delivered = new Map<string, number>();
      let count = 0;
      let reachedAll: () => void = () => {};
      const allDelivered = new Promise<void>((resolve) => {
        reachedAll = resolve;
      });
      const waiter = async (w: number) => {
        while (!controller.signal.aborted) {
          let got: { id: string }[];
          try {
            got = await popWaiting(client(w), "inbox", {
              waitSeconds: 5,
              signal: controller.signal,
            });
          } catch (err) {
            if (controller.signal.aborted) return;
            throw err;
          }
          for (const { id } of got) delivered.set(id, (delivered.get(id) ?? 0) + 1);
          count += got.length;
          if (count >= 200) reachedAll();
        }
      };
      const waiters = Array.from({ length: 50 }, (_, w) => waiter(w));
      await settleIn();
      for (let b = 0; b < 200; b++) {
        await client(b + 1).listAppendUnique("inbox", [{ id: `b${b}` }]);
        if (b % 4 === 0) await turn();
      }
      // A lost wake-up shows as items left after this grace; a late timer needs far less.
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        allDelivered,
        new Promise<void>((resolve) => {
          grace = setTimeout(resolve, 10_000);
        }),
      ]);
      // A pending timer would keep node:test's process alive for the rest of it.
      clearTimeout(grace);
      controller.abort(new Error("the test is over"));
      await Promise.all(waiters);
      const leftOver = (await h.kv.listPopAll<{ id: string }>("inbox")).length;
      const twice = [...delivered.values()].filter((n) => n > 1).length;
      const lost = Array.from({ length: 200 }, (_, b) => `b${b}`).filter(
        (id) => !delivered.has(id),
      ).length;
      expect(
        { lost, twice },
        `200 batches to 50 waiters: ${delivered.size} delivered, ${lost} never delivered (${leftOver} of them still in the list after 10 s: a lost wake-up), ${twice} delivered more than once`,
      ).toEqual({ lost: 0, twice: 0 });
    });

    it("waits through a namespaced view", async () => {
      const view = namespaced(h.kv, "ns:");
      const waiting = popWaiting(view, "inbox", { waitSeconds: WAIT_S });
      const state = track(waiting);
      await settleIn();
      await h.kv.listAppendUnique("other:inbox", [{ id: 0 }]);
      await settleIn();
      expect(state.settled, "a view's wait after an append outside the view").toBe(false);
      await namespaced(h.peer, "ns:").listAppendUnique("inbox", [{ id: 1 }]);
      expect(await waiting, "what the view's wait returned").toEqual([{ id: 1 }]);
      expect(await h.kv.exists("ns:inbox"), "the prefixed key after the pop").toBe(false);
      expect(await h.kv.get("other:inbox"), "the key outside the view").toEqual([{ id: 0 }]);
    });

    if (suite.options.connectPeer !== undefined) {
      it("wakes on an append by another client of the store", async () => {
        const waiting = popWaiting(h.kv, "inbox", { waitSeconds: WAIT_S });
        await settleIn();
        await h.peer.listAppendUnique("inbox", [{ id: "from the peer" }]);
        expect(await waiting, "what the wait woken by the other client returned").toEqual([
          { id: "from the peer" },
        ]);
      });
    } else {
      suite.leaveOut("waiting pops: a producer on a second client", "no connectPeer given");
    }
  });
}
