import { isKVError } from "@kv/core";
import { KVError, wrongType } from "@kv/core/adapter";
import type { Redis } from "ioredis";
import { type Link, sleep } from "../connection/link.js";
import { escapeGlob } from "../scan.js";
import { LIST_ACK, LIST_POP, LIST_RELEASE } from "../scripts/list-pop.lua.js";
import {
  codeOf,
  evalScript,
  type LuaScript,
  ReplyCode,
  type ScriptArgv,
} from "../scripts/protocol.js";
import { ServerClock } from "./server-clock.js";
import { ANY_IN_FLIGHT_MARK, inFlightKey, keyOfInFlight, newRequestId } from "./side-keys.js";

/**
 * How long an acknowledgement waits for a later pop of the same key to carry it, before
 * it is sent on its own (one HDEL per key, several pops each).
 */
export const ACK_DELAY_MS = 50;
/**
 * Acknowledgements owed that leave without waiting out `ACK_DELAY_MS` (within a
 * millisecond). Under a steady stream of pops a 50 ms batch would be thousands of pops:
 * their ids outlive the young generation (every one then costs a major GC's work), and
 * the one script that deletes them all holds the server for milliseconds while every
 * caller waits. Batches of a hundred leave neither cost.
 */
const ACK_GROUP = 100;
/** Where a pop's lease end sits in its EVALSHA arguments (ARGV[3]: sha, numkeys, 2 keys, 2 args). */
const LEASE_END_ARG = 6;
/** The most acknowledgements one command carries on a standalone server. */
const ACK_BATCH = 1000;
/** The first pause before an acknowledgement or a put-back that failed is tried again. */
const RETRY_FIRST_MS = 50;
/** The longest pause between two tries of an acknowledgement or a put-back that failed. */
const RETRY_MAX_MS = 1000;

/** What a backend gives its pop book. */
export interface PopHooks {
  /** The wake-up command and channel of a key (a put-back wakes waiting pops). */
  wakeOf(fullKey: string): readonly [string, string];
  /** Sends a pop's script as the backend sends every write (grouped writes, its #send). */
  send(script: LuaScript, argv: ScriptArgv): Promise<unknown>;
  /** Nothing was popped, but an orphaned pop of the key may be taken over in `ms`. */
  dueIn(fullKey: string, ms: number): void;
}

/**
 * The pops of one backend, and what it still owes the server for them (README "Exactly
 * once"):
 *
 * 1. `listPopAll` moves the list into a record of its own (scripts/list-pop.lua.ts) and
 *    returns it; the record's lease end comes from this backend's reading of the
 *    server's clock (`ServerClock`). Lost reply: the same request is resent (same pop
 *    id; the lease end taken again for the connection it goes on) and answers the same
 *    items.
 * 2. Once the caller has the items, the record is acknowledged (deleted): by the next pop
 *    of the same key (in its own script, no extra round trip), or by a batched HDEL after
 *    `ACK_DELAY_MS`, at once when `ACK_GROUP` are owed. Until then the items are reserved
 *    for us until the lease ends.
 * 3. A pop that failed for good (KV_UNAVAILABLE that may have taken effect) puts its
 *    items back under the key, ahead of later appends, as soon as the server answers
 *    (scripts/list-pop.lua.ts LIST_RELEASE): retried on every reconnection.
 * 4. Records nobody acknowledged or put back (the process died) are taken over by the
 *    first pop of their key once `leaseMs` has passed, by any backend on the server; and
 *    a backend that connects sweeps its namespace for them once (`sweep`), putting back
 *    those whose lease ended and coming back for the others when theirs ends.
 */
export class PopBook {
  /** Acknowledgements not yet sent: in-flight hash (side-keys.ts) → pop ids. */
  #acks = new Map<string, string[]>();
  /** Put-backs not yet done: pop id → full key. */
  readonly #releases = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether `#timer` fires within a millisecond (scheduled with 0). */
  #timerSoon = false;
  /** How many acknowledgements `#acks` holds. */
  #ackCount = 0;
  /** Sweep follow-ups: in-flight hash → timer for when its next lease ends. */
  readonly #dueTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #retryMs = RETRY_FIRST_MS;
  #closed = false;
  /** `leaseMs` as the script argument it is on every pop. */
  readonly #leaseText: string;
  readonly #clock: ServerClock;
  readonly #unsubscribe: () => void;

  constructor(
    private readonly link: Link,
    private readonly leaseMs: number,
    private readonly hooks: PopHooks,
  ) {
    this.#leaseText = String(leaseMs);
    this.#clock = new ServerClock(link);
    this.#unsubscribe = link.onReady(() => this.#schedule(0));
  }

  /** The number of acknowledgements and put-backs not yet done (tests, close). */
  get owed(): number {
    let n = this.#releases.size;
    for (const ids of this.#acks.values()) n += ids.length;
    return n;
  }

  /**
   * Pops the list at `fullKey` (`key` is the caller's name, for errors). No async frame
   * of its own: the reply is handled in one `then` (this is every pop's path).
   */
  pop(key: string, fullKey: string): Promise<unknown[]> {
    const id = newRequestId();
    const hash = inFlightKey(fullKey);
    const acks = this.#acks.get(hash);
    if (acks !== undefined) {
      this.#acks.delete(hash);
      this.#ackCount -= acks.length;
      // This pop carries everything owed: no flush is due (a consumer loop on one key then
      // never sends an acknowledgement on its own; the next pop's reply arms it again).
      if (this.#acks.size === 0 && this.#releases.size === 0) this.#stopTimer();
    }
    const argv: ScriptArgv = [LIST_POP.sha, "2", fullKey, hash, id, this.#leaseText, ""];
    if (acks !== undefined) for (const ack of acks) argv.push(ack);
    const send = () => {
      // The lease end of this attempt, from the clock reading of the connection it goes
      // on (a resend after a reconnection may reach another machine). A resend that finds
      // the first attempt's record answers from it, whatever its lease end.
      argv[LEASE_END_ARG] = this.#clock.leaseEnd(this.leaseMs);
      return this.hooks.send(LIST_POP, argv);
    };
    return this.link.run("listPopAll", send, { key, write: true }).then(
      (reply) => this.#popped(key, fullKey, hash, id, reply),
      (err: unknown) => {
        if (acks !== undefined) this.#owe(hash, acks);
        if (isKVError(err, "KV_UNAVAILABLE") && err.mayHaveTakenEffect) {
          // The pop may have run: its items wait in its record. Put them back.
          this.#releases.set(id, fullKey);
          this.#schedule(0);
        }
        throw err;
      },
    );
  }

  /** A pop's reply: its items (the text of the list it took), or what it found instead. */
  #popped(key: string, fullKey: string, hash: string, id: string, reply: unknown): unknown[] {
    if (typeof reply !== "string") {
      const code = codeOf(reply);
      if (code === ReplyCode.Empty) {
        const dueInMs = Number((reply as unknown[])[1]);
        if (dueInMs >= 0) this.hooks.dueIn(fullKey, dueInMs);
        return [];
      }
      if (code === ReplyCode.WrongType) throw wrongType("listPopAll", key, "a list");
      throw new KVError(
        "KV_UNAVAILABLE",
        `listPopAll: unexpected reply from Redis (${String(code)})`,
      );
    }
    let items: unknown;
    try {
      items = JSON.parse(reply);
    } catch {
      items = undefined;
    }
    if (!Array.isArray(items)) {
      // A value that starts with "[" but is not JSON: not ours to read. Put it back.
      this.#releases.set(id, fullKey);
      this.#schedule(0);
      throw wrongType("listPopAll", key, "a list");
    }
    const owed = this.#acks.get(hash);
    if (owed === undefined) this.#acks.set(hash, [id]);
    else owed.push(id);
    // A full group leaves at once, unless sending is failing (then the retry pace holds).
    const full = ++this.#ackCount >= ACK_GROUP && this.#retryMs === RETRY_FIRST_MS;
    this.#schedule(full ? 0 : ACK_DELAY_MS);
    // Exactly what the pop took (a replay: what the first attempt took). Items taken over
    // from an orphaned pop may repeat ones appended again since: at-least-once across a
    // crash (SPEC.md), never dropped.
    return items;
  }

  /** Acknowledgements to send again (their command failed). */
  #owe(hash: string, ids: readonly string[]): void {
    const owed = this.#acks.get(hash);
    if (owed === undefined) this.#acks.set(hash, [...ids]);
    else owed.push(...ids);
    this.#ackCount += ids.length;
    this.#schedule(ACK_DELAY_MS);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Flushes in `ms`, or sooner if a flush is due sooner already. */
  #schedule(ms: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) {
      if (ms > 0 || this.#timerSoon) return;
      this.#stopTimer();
    }
    if (this.#acks.size === 0 && this.#releases.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().then(
        (done) => {
          if (done) this.#retryMs = RETRY_FIRST_MS;
          else {
            this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
            this.#schedule(this.#retryMs);
          }
        },
        () => this.#schedule(RETRY_MAX_MS),
      );
    }, ms);
    this.#timerSoon = ms === 0;
    this.#timer.unref?.();
  }

  /** Sends what is owed; true when nothing is left. */
  async flush(): Promise<boolean> {
    if (this.#acks.size === 0 && this.#releases.size === 0) return true;
    if (!this.link.isReady) return false;
    const client = this.link.client;
    // A new map rather than `clear()`: under a stream of pops V8's cleared maps got this
    // path promoted to the old generation (4× the scavenge time, measured).
    const acks = this.#acks;
    this.#acks = new Map();
    this.#ackCount = 0;
    const releases = [...this.#releases];
    await Promise.all([
      ...(client.isCluster ? [...acks].map((ack) => this.#ackOne(ack)) : this.#ackAll(acks)),
      ...releases.map(async ([id, fullKey]) => {
        const [command, channel] = this.hooks.wakeOf(fullKey);
        try {
          await this.link.run(
            "listPopAll",
            () =>
              evalScript(
                client,
                LIST_RELEASE,
                [fullKey, inFlightKey(fullKey)],
                [id, command, channel],
              ),
            { write: true },
          );
          this.#releases.delete(id);
        } catch {
          // kept: tried again on the next reconnection
        }
      }),
    ]);
    return this.#acks.size === 0 && this.#releases.size === 0;
  }

  /** A Cluster's acknowledgements of one key: one HDEL, in the key's slot. */
  async #ackOne([hash, ids]: [string, string[]]): Promise<void> {
    try {
      // Each pop's two fields: its items and its lease end (scripts/list-pop.lua.ts).
      const fields = [...ids, ...ids.map((id) => `@${id}`)];
      await this.link.run("listPopAll", () => this.link.client.hdel(hash, ...fields));
    } catch {
      this.#owe(hash, ids);
    }
  }

  /**
   * A standalone server's acknowledgements: all of them in one script call per
   * `ACK_BATCH` pops, whatever their keys (one command instead of one per key).
   */
  #ackAll(acks: ReadonlyMap<string, string[]>): Promise<void>[] {
    const sent: Promise<void>[] = [];
    let hashes: string[] = [];
    let ids: string[] = [];
    const send = () => {
      const argv: ScriptArgv = [LIST_ACK.sha, ids.length, ...hashes, ...ids];
      const [batchHashes, batchIds] = [hashes, ids];
      sent.push(
        this.link
          .run("listPopAll", () => this.hooks.send(LIST_ACK, argv))
          .then(
            () => undefined,
            () => {
              for (let i = 0; i < batchIds.length; i++) this.#owe(batchHashes[i]!, [batchIds[i]!]);
            },
          ),
      );
      hashes = [];
      ids = [];
    };
    for (const [hash, owed] of acks) {
      for (const id of owed) {
        hashes.push(hash);
        ids.push(id);
        if (ids.length === ACK_BATCH) send();
      }
    }
    if (ids.length > 0) send();
    return sent;
  }

  /**
   * Puts back, under their keys, the in-flight pops of `namespace` whose lease ended
   * (their processes are gone), on every given node; a key whose pops are not due yet is
   * looked at again when they are. One SCAN of each node's keyspace (MATCH runs on the
   * server), for in-flight hashes of both layouts (side-keys.ts `legacyInFlightKey`).
   * Returns how many keys got items back.
   */
  async sweep(nodes: readonly Redis[], namespace: string): Promise<number> {
    const pattern = `*${ANY_IN_FLIGHT_MARK}*${escapeGlob(namespace)}*`;
    let restored = 0;
    await Promise.all(
      nodes.map(async (node) => {
        let cursor = "0";
        do {
          const [next, names] = await this.link.run("listPopAll", () =>
            node.scan(cursor, "MATCH", pattern, "COUNT", 1000, "TYPE", "hash"),
          );
          cursor = next;
          for (const name of names) {
            const fullKey = keyOfInFlight(name);
            if (fullKey === undefined || !fullKey.startsWith(namespace)) continue;
            if (await this.#recover(fullKey, name)) restored++;
          }
        } while (cursor !== "0" && !this.#closed);
      }),
    );
    return restored;
  }

  /** Puts back the pops in the in-flight hash `hash` of `fullKey` whose lease ended; true if some were. */
  async #recover(fullKey: string, hash: string): Promise<boolean> {
    if (this.#closed) return false;
    const [command, channel] = this.hooks.wakeOf(fullKey);
    const reply = (await this.link.run(
      "listPopAll",
      () => evalScript(this.link.client, LIST_RELEASE, [fullKey, hash], ["", command, channel]),
      { write: true },
    )) as [string, number];
    const dueInMs = Number(reply[1]);
    if (dueInMs >= 0 && !this.#closed && !this.#dueTimers.has(hash)) {
      const timer = setTimeout(() => {
        this.#dueTimers.delete(hash);
        this.#recover(fullKey, hash).catch(() => undefined);
      }, dueInMs + 10);
      timer.unref?.();
      this.#dueTimers.set(hash, timer);
    }
    return reply[0] === "restored";
  }

  /**
   * Stops the timers and sends what is still owed, tried until done or for one call
   * budget (`Link.timeoutMs`, waiting for a reconnection meanwhile): a process that closes
   * cleanly must not have the items it delivered come back after the lease. What is still
   * owed after that (the server stayed unreachable) is recovered by the lease.
   */
  async close(): Promise<void> {
    // Closed first: no timer, sweep or recovery starts from here on; this loop alone sends.
    this.#closed = true;
    this.#unsubscribe();
    this.#clock.close();
    this.#stopTimer();
    this.#clearDueTimers();
    const deadline = performance.now() + this.link.timeoutMs;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const done = await this.flush().catch(() => false);
      if (done || performance.now() + pause >= deadline) break;
      await sleep(pause);
    }
    this.#clearDueTimers(); // a recovery that was under way may have set one meanwhile
  }

  #clearDueTimers(): void {
    for (const timer of this.#dueTimers.values()) clearTimeout(timer);
    this.#dueTimers.clear();
  }
}
