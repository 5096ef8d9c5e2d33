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
import { IN_FLIGHT_MARK, inFlightKey, keyOfInFlight, newRequestId } from "./side-keys.js";

/**
 * How long an acknowledgement waits for a later pop of the same key to carry it, before
 * it is sent on its own (one HDEL per key, several pops each).
 */
export const ACK_DELAY_MS = 50;
/** The most acknowledgements one command carries on a standalone server. */
const ACK_BATCH = 1000;
/** The longest pause between two tries of an acknowledgement or a put-back that failed. */
const RETRY_MAX_MS = 1000;

/** What one pop found. */
export interface Popped {
  items: unknown[];
  /** Nothing popped, but an orphaned pop of the key may be taken over in this many ms; else -1. */
  dueInMs: number;
}

/**
 * The pops of one backend, and what it still owes the server for them (README "Exactly
 * once"):
 *
 * 1. `listPopAll` moves the list into a record of its own (scripts/list-pop.lua.ts) and
 *    returns it. Lost reply: the same request is resent (same pop id) and answers the
 *    same items.
 * 2. Once the caller has the items, the record is acknowledged (deleted): by the next pop
 *    of the same key (in its own script, no extra round trip), or after `ACK_DELAY_MS` by
 *    a batched HDEL. Until then the items are reserved for us for `leaseMs`.
 * 3. A pop that failed for good (KV_UNAVAILABLE that may have taken effect) puts its
 *    items back under the key, ahead of later appends, as soon as the server answers
 *    (scripts/list-pop.lua.ts LIST_RELEASE): retried on every reconnection.
 * 4. Records nobody acknowledged or put back (the process died) are taken over by the
 *    first pop of their key once `leaseMs` has passed, by any backend on the server; and
 *    a backend that connects sweeps its namespace for them once (`sweep`), putting back
 *    those whose lease ended and coming back for the others when theirs ends.
 */
export class PopBook {
  /** Acknowledgements not yet sent: full key → pop ids. */
  readonly #acks = new Map<string, string[]>();
  /** Put-backs not yet done: pop id → full key. */
  readonly #releases = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Sweep follow-ups: full key → timer for when its next lease ends. */
  readonly #dueTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #retryMs = 50;
  #closed = false;
  /** `leaseMs` as the script argument it is on every pop. */
  readonly #leaseText: string;
  readonly #unsubscribe: () => void;

  constructor(
    private readonly link: Link,
    leaseMs: number,
    /** The wake-up command and channel of a key (a put-back wakes waiting pops). */
    private readonly wakeOf: (fullKey: string) => readonly [string, string],
    /** Sends a pop's script as the backend sends every write (grouped writes, its #send). */
    private readonly send: (script: LuaScript, argv: ScriptArgv) => Promise<unknown>,
  ) {
    this.#leaseText = String(leaseMs);
    this.#unsubscribe = link.onReady(() => this.#schedule(0));
  }

  /** The number of acknowledgements and put-backs not yet done (tests, close). */
  get owed(): number {
    let n = this.#releases.size;
    for (const ids of this.#acks.values()) n += ids.length;
    return n;
  }

  async pop(key: string, fullKey: string): Promise<Popped> {
    const id = newRequestId();
    const acks = this.#acks.get(fullKey);
    if (acks !== undefined) this.#acks.delete(fullKey);
    const argv: ScriptArgv = [LIST_POP.sha, 2, fullKey, inFlightKey(fullKey), id, this.#leaseText];
    if (acks !== undefined) for (const ack of acks) argv.push(ack);
    let reply: unknown;
    try {
      reply = await this.link.run("listPopAll", () => this.send(LIST_POP, argv), {
        key,
        write: true,
      });
    } catch (err) {
      if (acks !== undefined) this.#owe(fullKey, acks);
      if (isKVError(err, "KV_UNAVAILABLE") && err.mayHaveTakenEffect) {
        // The pop may have run: its items wait in its record. Put them back.
        this.#releases.set(id, fullKey);
        this.#schedule(0);
      }
      throw err;
    }
    const code = codeOf(reply);
    if (code === ReplyCode.Empty) return { items: [], dueInMs: Number((reply as unknown[])[1]) };
    if (code === ReplyCode.WrongType) throw wrongType("listPopAll", key, "a list");
    if (code !== ReplyCode.Popped && code !== ReplyCode.Replay) {
      throw new KVError(
        "KV_UNAVAILABLE",
        `listPopAll: unexpected reply from Redis (${String(code)})`,
      );
    }
    const [, text] = reply as [string, string];
    let items: unknown;
    try {
      items = JSON.parse(text);
    } catch {
      items = undefined;
    }
    if (!Array.isArray(items)) {
      // A value that starts with "[" but is not JSON: not ours to read. Put it back.
      this.#releases.set(id, fullKey);
      this.#schedule(0);
      throw wrongType("listPopAll", key, "a list");
    }
    this.#owe(fullKey, [id]);
    // Exactly what the pop took (a replay: what the first attempt took). Items taken over
    // from an orphaned pop may repeat ones appended again since: at-least-once across a
    // crash (SPEC.md), never dropped.
    return { items, dueInMs: -1 };
  }

  #owe(fullKey: string, ids: readonly string[]): void {
    const owed = this.#acks.get(fullKey);
    if (owed === undefined) this.#acks.set(fullKey, [...ids]);
    else owed.push(...ids);
    this.#schedule(ACK_DELAY_MS);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    if (this.#closed || this.#timer !== undefined) return;
    if (this.#acks.size === 0 && this.#releases.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().then(
        (done) => {
          if (done) this.#retryMs = 50;
          else {
            this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
            this.#schedule(this.#retryMs);
          }
        },
        () => this.#schedule(RETRY_MAX_MS),
      );
    }, ms);
    this.#timer.unref?.();
  }

  /** Sends what is owed; true when nothing is left. */
  async flush(): Promise<boolean> {
    if (this.#acks.size === 0 && this.#releases.size === 0) return true;
    if (!this.link.isReady) return false;
    const client = this.link.client;
    const acks = [...this.#acks];
    this.#acks.clear();
    const releases = [...this.#releases];
    await Promise.all([
      ...(client.isCluster ? acks.map((ack) => this.#ackOne(ack)) : this.#ackAll(acks)),
      ...releases.map(async ([id, fullKey]) => {
        const [command, channel] = this.wakeOf(fullKey);
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
  async #ackOne([fullKey, ids]: [string, string[]]): Promise<void> {
    try {
      await this.link.run("listPopAll", () => this.link.client.hdel(inFlightKey(fullKey), ...ids));
    } catch {
      this.#owe(fullKey, ids);
    }
  }

  /**
   * A standalone server's acknowledgements: all of them in one script call per
   * `ACK_BATCH` pops, whatever their keys (one command instead of one per key).
   */
  #ackAll(acks: readonly [string, string[]][]): Promise<void>[] {
    const batches: [fullKeys: string[], ids: string[]][] = [];
    let fullKeys: string[] = [];
    let ids: string[] = [];
    for (const [fullKey, owed] of acks) {
      for (const id of owed) {
        if (ids.length === ACK_BATCH) {
          batches.push([fullKeys, ids]);
          fullKeys = [];
          ids = [];
        }
        fullKeys.push(fullKey);
        ids.push(id);
      }
    }
    if (ids.length > 0) batches.push([fullKeys, ids]);
    return batches.map(async ([fullKeys, ids]) => {
      const argv: ScriptArgv = [LIST_ACK.sha, ids.length];
      for (const fullKey of fullKeys) argv.push(inFlightKey(fullKey));
      for (const id of ids) argv.push(id);
      try {
        await this.link.run("listPopAll", () => this.send(LIST_ACK, argv));
      } catch {
        for (let i = 0; i < ids.length; i++) this.#owe(fullKeys[i]!, [ids[i]!]);
      }
    });
  }

  /**
   * Puts back, under their keys, the in-flight pops of `namespace` whose lease ended
   * (their processes are gone), on every given node; a key whose pops are not due yet is
   * looked at again when they are. One SCAN of each node's keyspace (MATCH runs on the
   * server). Returns how many keys got items back.
   */
  async sweep(nodes: readonly Redis[], namespace: string): Promise<number> {
    const pattern = `*${IN_FLIGHT_MARK}${escapeGlob(namespace)}*`;
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
            if (fullKey !== undefined && (await this.#recover(fullKey))) restored++;
          }
        } while (cursor !== "0" && !this.#closed);
      }),
    );
    return restored;
  }

  /** Puts back the pops of `fullKey` whose lease ended; true if some were. */
  async #recover(fullKey: string): Promise<boolean> {
    if (this.#closed) return false;
    const [command, channel] = this.wakeOf(fullKey);
    const reply = (await this.link.run(
      "listPopAll",
      () =>
        evalScript(
          this.link.client,
          LIST_RELEASE,
          [fullKey, inFlightKey(fullKey)],
          ["", command, channel],
        ),
      { write: true },
    )) as [string, number];
    const dueInMs = Number(reply[1]);
    if (dueInMs >= 0 && !this.#closed && !this.#dueTimers.has(fullKey)) {
      const timer = setTimeout(() => {
        this.#dueTimers.delete(fullKey);
        this.#recover(fullKey).catch(() => undefined);
      }, dueInMs + 10);
      timer.unref?.();
      this.#dueTimers.set(fullKey, timer);
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
