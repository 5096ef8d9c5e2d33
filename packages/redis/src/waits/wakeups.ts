import { POLL_MAX_MS } from "@kv/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { noop, type RedisClient } from "../connection/client.js";
import type { Link } from "../connection/link.js";
import { wakeChannel } from "../exactly-once/side-keys.js";

/** The first pause of a key's waiters when its subscription was refused. */
const POLL_FIRST_MS = 10;
/** When a refused subscription is asked again: after 1 s, doubling to 30 s. */
const RESUBSCRIBE_FIRST_MS = 1000;
const RESUBSCRIBE_MAX_MS = 30_000;

/** A watched key whose subscription was refused: its polling and its next request. */
interface Refused {
  poll: ReturnType<typeof setTimeout> | undefined;
  retry: ReturnType<typeof setTimeout> | undefined;
  /** Refusals in a row (the next request's backoff). */
  count: number;
}

/**
 * Waiting pops without polling (core's `wakeups: "engine"`): every write that can fill a
 * list publishes on the key's wake-up channel in its own script (scripts/protocol.ts
 * `wake`: PUBLISH on a standalone server, SPUBLISH on a Cluster, so the message reaches
 * only the key's shard). This object subscribes to the channels of the keys someone waits
 * on and tells their waiters; core's wait loop then pops, and waits on if another client
 * won (the pop is atomic: each batch goes to exactly one caller, across processes).
 *
 * - One subscriber connection per backend, opened on the first wait (none otherwise).
 * - After a reconnection (of the subscriber or the backend's own connection) every
 *   waiter is told to look again: a message published during the outage is lost, the
 *   items are not.
 * - A key whose orphaned pop comes due (exactly-once/pops.ts) is looked at again then.
 * - Idle waiters cost no command at all: no timer but each wait's own deadline.
 * - A subscription the server refuses (an ACL user without channel rights, Redis 7's
 *   default for new users; on a Cluster, also a slot whose shard is not known yet) leaves
 *   that key's waiters polling instead, as core's polling waits do: told to look again
 *   after 10 ms, then twice as long each time, up to `POLL_MAX_MS`. The subscription is
 *   asked again meanwhile (after 1 s, doubling to 30 s); once it holds, polling stops.
 */
export class Wakeups {
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #byChannel = new Map<string, string>();
  readonly #rechecks = new Map<string, ReturnType<typeof setTimeout>>();
  /** Watched keys whose subscription was refused. */
  readonly #refused = new Map<string, Refused>();
  /** The latest subscription request of each watched key: an older one's answer is void. */
  readonly #requests = new Map<string, number>();
  #lastRequest = 0;
  #subscriber: RedisClient | undefined;
  #closed = false;
  readonly #unsubscribeLink: () => void;

  constructor(
    link: Link,
    private readonly client: RedisClient,
  ) {
    this.#unsubscribeLink = link.onReady(() => this.#notifyAll());
  }

  /** Calls `onChange` whenever `fullKey` may have got items; returns the unsubscribe. */
  watch(fullKey: string, onChange: () => void): () => void {
    let set = this.#watchers.get(fullKey);
    if (set === undefined) {
      set = new Set();
      this.#watchers.set(fullKey, set);
      const channel = wakeChannel(fullKey);
      this.#byChannel.set(channel, fullKey);
      this.#subscribe(channel);
    }
    set.add(onChange);
    return () => {
      const current = this.#watchers.get(fullKey);
      if (current === undefined || !current.delete(onChange) || current.size > 0) return;
      this.#watchers.delete(fullKey);
      const channel = wakeChannel(fullKey);
      this.#byChannel.delete(channel);
      clearTimeout(this.#rechecks.get(fullKey));
      this.#rechecks.delete(fullKey);
      this.#requests.delete(fullKey);
      this.#stopPolling(fullKey);
      this.#unsubscribe(channel);
    };
  }

  /** Tells the waiters of `fullKey`, if any, to look again in `ms`. */
  recheckIn(fullKey: string, ms: number): void {
    if (!this.#watchers.has(fullKey) || this.#rechecks.has(fullKey)) return;
    const timer = setTimeout(() => {
      this.#rechecks.delete(fullKey);
      this.#notify(fullKey);
    }, ms + 5);
    timer.unref?.();
    this.#rechecks.set(fullKey, timer);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribeLink();
    for (const timer of this.#rechecks.values()) clearTimeout(timer);
    this.#rechecks.clear();
    for (const fullKey of [...this.#refused.keys()]) this.#stopPolling(fullKey);
    this.#requests.clear();
    this.#watchers.clear();
    this.#byChannel.clear();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }

  #notify(fullKey: string): void {
    const set = this.#watchers.get(fullKey);
    if (set === undefined) return;
    for (const onChange of [...set]) onChange();
  }

  #notifyAll(): void {
    for (const fullKey of [...this.#watchers.keys()]) this.#notify(fullKey);
  }

  #onMessage = (channel: string): void => {
    const fullKey = this.#byChannel.get(channel);
    if (fullKey !== undefined) this.#notify(fullKey);
  };

  /** The subscriber connection, opened on first use. */
  #connection(): RedisClient {
    if (this.#subscriber !== undefined) return this.#subscriber;
    // Commands queue while (re)connecting, and ioredis subscribes again after a
    // reconnection by itself; "ready" then tells every waiter to look again.
    let subscriber: RedisClient;
    if (this.client.isCluster) {
      subscriber = (this.client as Cluster).duplicate([], {
        shardedSubscribers: true,
        enableOfflineQueue: true,
      });
      subscriber.on("smessage", this.#onMessage);
      subscriber.on("+subscriber", () => this.#notifyAll());
    } else {
      subscriber = (this.client as Redis).duplicate({
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        // A SUBSCRIBE whose reply a dropped connection took is sent again after the
        // reconnection (the data client's `false` would leave it unsettled, the channel
        // never subscribed; autoResubscribe knows only the confirmed ones).
        autoResendUnfulfilledCommands: true,
        autoResubscribe: true,
        commandTimeout: undefined,
        lazyConnect: false,
      });
      subscriber.on("message", this.#onMessage);
    }
    let first = true;
    subscriber.on("ready", () => {
      if (first) first = false;
      else this.#notifyAll();
    });
    subscriber.on("error", noop);
    this.#subscriber = subscriber;
    return subscriber;
  }

  #subscribe(channel: string): void {
    const fullKey = this.#byChannel.get(channel);
    if (this.#closed || fullKey === undefined) return;
    const request = ++this.#lastRequest;
    this.#requests.set(fullKey, request);
    const subscriber = this.#connection();
    const done = subscriber.isCluster
      ? (subscriber as Cluster).ssubscribe(channel)
      : (subscriber as Redis).subscribe(channel);
    // Only the key's latest request counts (it may have been unwatched and watched again).
    const current = () => !this.#closed && this.#requests.get(fullKey) === request;
    done.then(
      () => {
        if (!current()) return;
        this.#stopPolling(fullKey);
        // Subscribed: a write published before the subscription took hold was not heard.
        this.#notify(fullKey);
      },
      () => {
        if (!current()) return;
        // A lost connection does not reject it (the offline queue keeps it, and one in
        // flight is sent again, after the reconnection): refused.
        // ioredis's sharded subscribers recorded the channel when it was sent, refused or
        // not, and add it again on every request: dropped until one holds. The next
        // request waits for that (ioredis may retry it a while during a failover): else a
        // late SUNSUBSCRIBE would undo the next request's subscription.
        const cleanup = subscriber.isCluster
          ? (subscriber as Cluster).sunsubscribe(channel).then(noop, noop)
          : undefined;
        this.#notify(fullKey);
        this.#pollInstead(fullKey, channel, cleanup);
      },
    );
  }

  /**
   * `fullKey`'s subscription was refused: its waiters poll, and it is asked again later,
   * once `cleanup` (what the refusal left to undo) is done.
   */
  #pollInstead(fullKey: string, channel: string, cleanup: Promise<void> | undefined): void {
    let refused = this.#refused.get(fullKey);
    if (refused === undefined) {
      refused = { poll: undefined, retry: undefined, count: 0 };
      this.#refused.set(fullKey, refused);
      this.#poll(refused, fullKey, POLL_FIRST_MS);
    }
    const state = refused;
    clearTimeout(state.retry);
    const delay = Math.min(RESUBSCRIBE_FIRST_MS * 2 ** state.count++, RESUBSCRIBE_MAX_MS);
    const askAgain = () => {
      if (this.#refused.get(fullKey) === state) this.#subscribe(channel);
    };
    state.retry = setTimeout(() => {
      state.retry = undefined;
      if (cleanup === undefined) askAgain();
      else void cleanup.then(askAgain);
    }, delay);
    state.retry.unref?.();
  }

  /** Tells the waiters of `fullKey` to look again in `ms`, and so on while it is refused. */
  #poll(state: Refused, fullKey: string, ms: number): void {
    state.poll = setTimeout(() => {
      if (this.#refused.get(fullKey) !== state) return;
      this.#notify(fullKey);
      this.#poll(state, fullKey, Math.min(ms * 2, POLL_MAX_MS));
    }, ms);
    state.poll.unref?.();
  }

  #stopPolling(fullKey: string): void {
    const state = this.#refused.get(fullKey);
    if (state === undefined) return;
    clearTimeout(state.poll);
    clearTimeout(state.retry);
    this.#refused.delete(fullKey);
  }

  #unsubscribe(channel: string): void {
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    const done = subscriber.isCluster
      ? (subscriber as Cluster).sunsubscribe(channel)
      : (subscriber as Redis).unsubscribe(channel);
    done.catch(noop);
  }
}
