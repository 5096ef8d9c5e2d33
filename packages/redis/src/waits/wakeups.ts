import type { Cluster, Redis } from "ioredis";
import { noop, type RedisClient } from "../connection/client.js";
import type { Link } from "../connection/link.js";
import { wakeChannel } from "../exactly-once/side-keys.js";

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
 */
export class Wakeups {
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #byChannel = new Map<string, string>();
  readonly #rechecks = new Map<string, ReturnType<typeof setTimeout>>();
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
      const timer = this.#rechecks.get(fullKey);
      if (timer !== undefined) clearTimeout(timer);
      this.#rechecks.delete(fullKey);
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
    if (this.#closed) return;
    const subscriber = this.#connection();
    const done = subscriber.isCluster
      ? (subscriber as Cluster).ssubscribe(channel)
      : (subscriber as Redis).subscribe(channel);
    // Once subscribed, the waiters look again: a write published before the subscription
    // took hold was not heard. A failed subscription is retried by the reconnection that
    // follows it (which tells every waiter to look again too).
    const look = () => this.#notify(this.#byChannel.get(channel) ?? "");
    done.then(look, look);
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
