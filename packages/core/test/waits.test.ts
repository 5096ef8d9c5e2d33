import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import {
  isKVError,
  type KVBackend,
  KVStore,
  namespaced,
  onAbort,
  type PreparedAppend,
  type ResolvedScan,
} from "./internals.js";

/**
 * Waiting pops on an engine that answers with promises (a remote store), the paths the
 * conformance suite cannot time: a close or an abort that lands while a pop is under way.
 */
class SlowQueue extends KVStore {
  items: unknown[] = [];
  popDelayMs = 0;
  constructor() {
    // Engine wakeups that never come: a wait only ends by its deadline, a close or an abort.
    super({ wakeups: "engine" });
  }
  protected override _watch(): () => void {
    return () => undefined;
  }
  protected async _listPop(): Promise<unknown[]> {
    await new Promise((resolve) => setTimeout(resolve, this.popDelayMs));
    const out = this.items;
    this.items = [];
    return out;
  }
  protected _get(): undefined {
    return undefined;
  }
  protected _set(): void {}
  protected _delete(): boolean {
    return false;
  }
  protected _listAppend(_key: string, append: PreparedAppend): unknown[] {
    return append.items.map((item) => JSON.parse(item.text));
  }
  protected _mset(): void {}
  protected _expire(): boolean {
    return false;
  }
  protected _purgeExpired(): number {
    return 0;
  }
  protected _ttl(): undefined {
    return undefined;
  }
  protected _incr(): number {
    return 0;
  }
  protected _scanPrefix(_scan: ResolvedScan): string[] {
    return [];
  }
}

describe("waiting pops on an async engine", () => {
  it("a close() that lands while a pop returns items: the caller gets the items, not KV_CLOSED", async () => {
    const kv = new SlowQueue();
    kv.popDelayMs = 20;
    kv.items = [{ id: 1 }];
    const waiting = kv.listPopAll("q", { waitSeconds: 5 });
    await new Promise((resolve) => setTimeout(resolve, 25));
    await kv.close();
    expect(await waiting).toEqual([{ id: 1 }]);
  });

  it("a close() during an empty pop rejects with KV_CLOSED at once, not at the deadline", async () => {
    const kv = new SlowQueue();
    kv.popDelayMs = 50;
    const waiting = kv.listPopAll("q", { waitSeconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closed = performance.now();
    await kv.close();
    await expect(waiting).rejects.toMatchObject({ code: "KV_CLOSED" });
    // Far below the 30 s wait: the pop's own 50 ms plus scheduling on a loaded machine.
    expect(performance.now() - closed).toBeLessThan(10_000);
  });

  it("an abort during an empty pop rejects with the reason at once, not at the deadline", async () => {
    const kv = new SlowQueue();
    kv.popDelayMs = 50;
    const controller = new AbortController();
    const waiting = kv.listPopAll("q", { waitSeconds: 30, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const aborted = performance.now();
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(performance.now() - aborted).toBeLessThan(10_000);
    await kv.close();
  });
});

describe("a signal shared by many waits", () => {
  const WAITS = 30;

  /** Waits on `q0`…`q29` of `kv`, all with `signal`, each settled to its value or error. */
  function waitAll(kv: KVBackend, signal: AbortSignal): Promise<unknown>[] {
    return Array.from({ length: WAITS }, (_, i) =>
      kv.listPopAll(`q${i}`, { waitSeconds: 30, signal }).then(
        (items) => items,
        (err: unknown) => err,
      ),
    );
  }

  it("carries one abort listener, whatever the number of waits, and aborting it rejects every wait", async () => {
    const kv = new SlowQueue();
    const controller = new AbortController();
    const waits = waitAll(kv, controller.signal);
    // Node warns from the eleventh listener on (MaxListenersExceededWarning).
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    const reason = new Error("shutting down");
    controller.abort(reason);
    const outcomes = await Promise.all(waits);
    expect(outcomes.filter((outcome) => outcome === reason)).toHaveLength(WAITS);
    await kv.close();
  });

  it("through a namespaced view too, and the listener goes once the waits end", async () => {
    const kv = new SlowQueue();
    const view = namespaced(kv, "tenant:");
    const controller = new AbortController();
    const waits = waitAll(view, controller.signal);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    // Ended by close, not by the signal: nothing of ours stays on the caller's signal.
    await kv.close();
    const outcomes = await Promise.all(waits);
    expect(outcomes.every((outcome) => isKVError(outcome, "KV_CLOSED"))).toBe(true);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});

describe("onAbort", () => {
  it("calls each callback once on abort, and takes back only what it is told to", () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const twice = () => calls.push("twice");
    onAbort(controller.signal, twice);
    const takeBack = onAbort(controller.signal, twice);
    const gone = onAbort(controller.signal, () => calls.push("gone"));
    gone();
    gone();
    takeBack();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    expect(calls).toEqual(["twice"]);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("on a signal aborted already: calls back in a microtask, unless taken back first", async () => {
    const controller = new AbortController();
    controller.abort();
    let called = 0;
    onAbort(controller.signal, () => called++);
    onAbort(controller.signal, () => called++)();
    expect(called).toBe(0);
    await Promise.resolve();
    expect(called).toBe(1);
  });

  it("removes its listener when the last callback is taken back, and adds one again later", () => {
    const controller = new AbortController();
    const first = onAbort(controller.signal, () => undefined);
    first();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    let called = 0;
    onAbort(controller.signal, () => called++);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    expect(called).toBe(1);
  });
});
