import { onAbort } from "../abort.js";
import { closedError, invalidArgument, isKVError } from "../errors.js";
import { ttlToMs } from "../ttl.js";
import type { PopOptions } from "../types.js";

/**
 * How a store learns that a waited-on key may have got items (SPEC.md "Lists", waiting
 * pops):
 * - `"own-writes"`: every write to the store goes through this object (an in-process
 *   store whose engine methods answer synchronously). The write that fills a list hands
 *   it, in the same tick, to the longest waiting caller: no timer, no polling. An engine
 *   that answers with promises wants `"engine"` or `"polling"`: between its empty pop and
 *   the wait's start another call could fill the list unseen.
 * - `"engine"`: the engine says so itself (`KVStore._watch`), e.g. a server's
 *   notifications of other clients' writes.
 * - `"polling"`: nothing says so (a file or server shared with other processes that
 *   cannot notify): the wait pops again with a growing pause, at most `POLL_MAX_MS`.
 */
export type Wakeups = "own-writes" | "engine" | "polling";

/** A checked `listPopAll` options bag. */
export interface ResolvedPop {
  /** How long to wait, in whole milliseconds; `undefined`: do not wait. */
  waitMs: number | undefined;
  signal: AbortSignal | undefined;
}

const NO_WAIT: ResolvedPop = { waitMs: undefined, signal: undefined };

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as AbortSignal).aborted === "boolean" &&
    typeof (value as AbortSignal).addEventListener === "function"
  );
}

/** `listPopAll`'s options: `waitSeconds` finite and > 0, `signal` an AbortSignal. */
export function resolvePop(method: string, options: PopOptions | undefined): ResolvedPop {
  if (options === undefined) return NO_WAIT;
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(method, "options must be an object", options);
  }
  const { waitSeconds, signal } = options;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw invalidArgument(method, "signal must be an AbortSignal", signal);
  }
  return {
    waitMs: waitSeconds === undefined ? undefined : ttlToMs(method, waitSeconds, "waitSeconds"),
    signal,
  };
}

/** setTimeout turns delays over 2^31 - 1 ms into 1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest pause between two pops of a polling wait. */
export const POLL_MAX_MS = 250;
const POLL_FIRST_MS = 5;

/** One pending `listPopAll` wait. */
class Waiter {
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Set while a pop runs for this waiter: its result must reach the caller. */
  popping = false;
  settled = false;
  /** Resolves the current pause of a loop wait (engine / polling). */
  wake: (() => void) | undefined;
  /** An engine wakeup came while no pause was under way (during a pop): pop again at once. */
  changed = false;
  /** Takes back this wait's abort callback (abort.ts). */
  stopAbort: (() => void) | undefined;

  constructor(
    readonly key: string,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (items: unknown[]) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

/** The engine calls a store keeps for its waits. */
export interface WaitEngine {
  /** `listPopAll` without waiting: the items, `[]` when there are none. */
  pop(key: string): unknown[] | Promise<unknown[]>;
  /** Engine wakeups: calls `onChange` when `key` may have items; returns the unsubscribe. */
  watch?(key: string, onChange: () => void): () => void;
}

const now = () => performance.now();

/**
 * The pending waiting pops of one store. Waits time out on the real clock (even where
 * the store's TTLs run on an injected one): a wait is about the caller's patience.
 *
 * Each wait holds one timer and, with a signal, one abort callback (abort.ts: a signal
 * shared by many waits carries one listener); an idle wait costs nothing else. Waiters
 * of a key are queued in arrival order and served from the front.
 */
export class ListWaits {
  readonly #byKey = new Map<string, Waiter[]>();
  readonly #all = new Set<Waiter>();
  #closed = false;

  constructor(
    private readonly method: string,
    private readonly wakeups: Wakeups,
    private readonly engine: WaitEngine,
  ) {}

  /** True when some caller waits on `key`: what a write checks before `offer`. */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** True when any caller waits: lets a batch write skip its per-key checks. */
  get any(): boolean {
    return this.#byKey.size > 0;
  }

  /**
   * Waits up to `waitMs` for items under `key` (the caller found none just now). With
   * `own-writes` it resolves when `offer` hands it a batch; otherwise it loops: pause
   * until a wakeup (engine) or a growing timer (polling), then pop again.
   */
  wait(key: string, waitMs: number, signal: AbortSignal | undefined): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      const waiter = new Waiter(key, now() + waitMs, signal, resolve, reject);
      this.#all.add(waiter);
      if (signal !== undefined) waiter.stopAbort = onAbort(signal, () => this.#abort(waiter));
      if (this.wakeups === "own-writes") {
        this.#enqueue(waiter);
        this.#arm(waiter, waitMs, () => this.#expire(waiter));
      } else {
        this.#loop(waiter).then(
          (items) => this.#settle(waiter, () => resolve(items)),
          (err) => this.#settle(waiter, () => reject(err)),
        );
      }
    });
  }

  /**
   * `own-writes`: a write may just have filled `key`'s list. The longest-waiting caller
   * pops it, in this same tick when the engine's pop is synchronous.
   */
  offer(key: string): void {
    const queue = this.#byKey.get(key);
    const waiter = queue?.[0];
    if (waiter === undefined || waiter.popping) return;
    waiter.popping = true;
    const take = (items: unknown[]) => {
      waiter.popping = false;
      if (items.length > 0) {
        this.#dequeue(waiter);
        this.#settle(waiter, () => waiter.resolve(items));
      } else if (waiter.settled) {
        // Timed out or closed while the pop ran: nothing was taken, nothing to hand over.
      } else if (now() >= waiter.deadline) {
        this.#expire(waiter);
      }
    };
    const fail = (err: unknown) => {
      waiter.popping = false;
      this.#dequeue(waiter);
      this.#settle(waiter, () => waiter.reject(err));
    };
    let result: unknown[] | Promise<unknown[]>;
    try {
      result = this.engine.pop(key);
    } catch (err) {
      fail(err);
      return;
    }
    if (Array.isArray(result)) take(result);
    else result.then(take, fail);
  }

  /** Rejects every pending wait with KV_CLOSED (SPEC.md: `close()`). */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#all]) {
      // A pop under way delivers what it took; the rest cannot be served any more.
      if (waiter.popping) continue;
      if (this.wakeups === "own-writes") {
        this.#dequeue(waiter);
        this.#settle(waiter, () => waiter.reject(closedError(this.method)));
      } else {
        // A loop wait settles itself, after its pop if one is under way: items a pop
        // took reach the caller, never a KV_CLOSED in their place.
        waiter.wake?.();
      }
    }
  }

  async #loop(waiter: Waiter): Promise<unknown[]> {
    const { key } = waiter;
    let pause = POLL_FIRST_MS;
    let unwatch: (() => void) | undefined;
    if (this.wakeups === "engine" && this.engine.watch !== undefined) {
      // Watch first, pop second: a write between the two is still noticed.
      unwatch = this.engine.watch(key, () => {
        if (waiter.wake !== undefined) waiter.wake();
        else waiter.changed = true;
      });
    }
    try {
      for (;;) {
        if (this.#closed) throw closedError(this.method);
        if (waiter.signal?.aborted) throw waiter.signal.reason;
        let unavailable: unknown;
        waiter.changed = false;
        waiter.popping = true;
        try {
          const items = await this.engine.pop(key);
          if (items.length > 0) return items;
        } catch (err) {
          // A server out of reach during the wait is not a failure unless it still is
          // at the end (SPEC.md "Lists").
          if (!isKVError(err, "KV_UNAVAILABLE")) throw err;
          unavailable = err;
        } finally {
          waiter.popping = false;
        }
        // Closed or aborted while the pop ran (it found nothing): no pause until the deadline.
        if (this.#closed) throw closedError(this.method);
        if (waiter.signal?.aborted) throw waiter.signal.reason;
        const left = waiter.deadline - now();
        if (left <= 0) {
          if (unavailable !== undefined) throw unavailable;
          return [];
        }
        const polling = this.wakeups !== "engine" || unavailable !== undefined;
        // Told of a change while the pop ran: the pop may have missed it.
        if (waiter.changed && !polling) continue;
        await this.#pause(waiter, polling ? Math.min(left, pause) : left);
        if (polling) pause = Math.min(pause * 2, POLL_MAX_MS);
      }
    } finally {
      unwatch?.();
    }
  }

  /** Resolves after `ms`, or sooner on a wakeup, an abort or close. */
  #pause(waiter: Waiter, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(waiter.timer);
        waiter.timer = undefined;
        waiter.wake = undefined;
        resolve();
      };
      waiter.wake = done;
      this.#arm(waiter, ms, done);
    });
  }

  #arm(waiter: Waiter, ms: number, then: () => void): void {
    const step = Math.min(ms, MAX_TIMER_MS);
    waiter.timer = setTimeout(() => {
      if (ms > step) this.#arm(waiter, ms - step, then);
      else then();
    }, step);
  }

  #expire(waiter: Waiter): void {
    // A pop under way for this waiter settles it when it returns.
    if (waiter.popping) return;
    this.#dequeue(waiter);
    this.#settle(waiter, () => waiter.resolve([]));
  }

  #abort(waiter: Waiter): void {
    if (waiter.settled) return;
    if (this.wakeups === "own-writes") {
      // Too late once a pop runs for it: the items it takes are the caller's.
      if (waiter.popping) return;
      this.#dequeue(waiter);
      this.#settle(waiter, () => waiter.reject(waiter.signal?.reason));
    } else {
      // The loop sees the abort before its next pop, never in the middle of one.
      waiter.wake?.();
    }
  }

  #settle(waiter: Waiter, finish: () => void): void {
    if (waiter.settled) return;
    waiter.settled = true;
    clearTimeout(waiter.timer);
    waiter.stopAbort?.();
    this.#all.delete(waiter);
    finish();
    // A loop wait settled from outside (close) must still run to its end and unwatch.
    waiter.wake?.();
  }

  #enqueue(waiter: Waiter): void {
    const queue = this.#byKey.get(waiter.key);
    if (queue === undefined) this.#byKey.set(waiter.key, [waiter]);
    else queue.push(waiter);
  }

  #dequeue(waiter: Waiter): void {
    const queue = this.#byKey.get(waiter.key);
    if (queue === undefined) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.#byKey.delete(waiter.key);
  }
}
