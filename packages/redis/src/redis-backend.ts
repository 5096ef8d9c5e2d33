import { isKVError } from "@kv/core";
import {
  decodeStored,
  describeValue,
  incremented,
  invalidArgument,
  isFilledList,
  KVError,
  KVStore,
  type PreparedAppend,
  type ResolvedScan,
  wrongType,
} from "@kv/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { clusterMget, clusterMset } from "./cluster/batches.js";
import { reachableMasters } from "./cluster/fan-out.js";
import {
  closeClient,
  createClient,
  describeClient,
  type RedisClient,
} from "./connection/client.js";
import { Link } from "./connection/link.js";
import { warnIfCannotPublish, warnIfEvicting } from "./connection/server-checks.js";
import { PopBook } from "./exactly-once/pops.js";
import { newRequestId, requestRecordKey, wakeChannel } from "./exactly-once/side-keys.js";
import {
  type KeyRead,
  NearCache,
  type NearCacheStats,
  readManyWithTtl,
  readWithTtl,
} from "./near-cache/index.js";
import { type RedisBackendOptions, resolveSettings, WHERE } from "./options.js";
import { scanPrefix } from "./scan.js";
import { DELETE } from "./scripts/delete.lua.js";
import { EXPIRE } from "./scripts/expire.lua.js";
import { INCR } from "./scripts/incr.lua.js";
import { LIST_APPEND, listAppendArgv } from "./scripts/list-append.lua.js";
import { MSET, msetArgv } from "./scripts/mset.lua.js";
import {
  codeOf,
  groupWrites,
  type LuaScript,
  pxOf,
  ReplyCode,
  type ScriptArgv,
  sendScript,
} from "./scripts/protocol.js";
import { SET } from "./scripts/set.lua.js";
import { Wakeups } from "./waits/wakeups.js";

/**
 * The KV contract on Redis (standalone or Cluster) through ioredis: the engine under
 * core's `KVStore` (argument checks, encoding, TTL units and waiting pops are core's).
 * Every key is one Redis string holding the value's JSON, so `redis-cli GET` shows it and
 * `GET`/`SET`/`EXPIRE` work on lists too. Every write is a Lua script (scripts/): one
 * round trip, atomic for every client of the server, carrying a request id so that a
 * resent request takes effect once (README "Exactly once").
 */
export class RedisBackend extends KVStore {
  readonly #client: RedisClient;
  readonly #own: boolean;
  readonly #link: Link;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  /** How long a write's idempotency record lives: the longest a resend can come after it. */
  readonly #recordMs: number;
  /** `#recordMs` as the script argument it is on every write. */
  readonly #recordText: string;
  readonly #pops: PopBook;
  readonly #wakeups: Wakeups;
  /** Whether the commands of concurrent calls share socket writes (see `#grouped`). */
  readonly #batchWrites: boolean;
  /** The near cache, when the `nearCache` option asks for one (README "Near cache"). */
  readonly #near: NearCache | undefined;

  constructor(options: RedisBackendOptions | string = {}) {
    const settings = resolveSettings(options);
    super({ name: WHERE, maxValueBytes: settings.maxValueBytes, wakeups: "engine" });
    // Checked before any connection is made: a bad option leaves nothing open.
    this.#near = settings.nearCache === undefined ? undefined : new NearCache(settings.nearCache);
    this.#prefix = settings.prefix;
    this.#timeoutMs = settings.commandTimeoutMs;
    this.#recordMs = settings.commandTimeoutMs + 1000;
    this.#recordText = String(this.#recordMs);
    const timeouts = { commandMs: settings.commandTimeoutMs, connectMs: settings.connectTimeoutMs };

    if (settings.url === undefined) {
      const client = settings.client!;
      if (typeof client !== "object" || client === null || typeof client.call !== "function") {
        throw invalidArgument(WHERE, "client must be an ioredis Redis or Cluster", client);
      }
      if (client.options.keyPrefix) {
        throw new KVError(
          "KV_INVALID_ARGUMENT",
          `${WHERE}: the client has ioredis's keyPrefix set; pass prefix to RedisBackend instead (keyPrefix misses SCAN patterns and replies)`,
        );
      }
      this.#client = client;
      this.#own = false;
      this.#batchWrites = false;
      const password = client.isCluster
        ? (client as Cluster).options.redisOptions?.password
        : (client as Redis).options.password;
      this.#link = new Link(client, {
        own: false,
        timeoutMs: this.#timeoutMs,
        describe: () => describeClient(client),
        secrets: password === undefined ? [] : [password],
      });
    } else {
      const url = settings.url;
      this.#client = createClient(url, timeouts, settings);
      this.#own = true;
      this.#batchWrites = settings.autoPipelining;
      const target = `${url.cluster ? "cluster " : ""}${url.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
      this.#link = new Link(this.#client, {
        own: true,
        timeoutMs: this.#timeoutMs,
        describe: () => target,
        secrets: url.password === undefined ? [] : [url.password],
      });
    }
    this.#pops = new PopBook(this.#link, settings.popLeaseMs, {
      wakeOf: (k) => this.#wake(k),
      send: (script, argv) => this.#send(script, argv),
      // An orphaned pop of this key comes due later: a waiting pop looks again then.
      dueIn: (k, ms) => this.#wakeups.recheckIn(k, ms),
    });
    this.#wakeups = new Wakeups(this.#link, this.#client);
    this.#near?.attach(this.#client);
    // Once connected: put back the pops of this namespace whose process died (README
    // "Exactly once"), and check the server (README "What the server must keep"). In the
    // background; a failed sweep leaves the pops to the next pop of their key.
    const startUp = () => {
      stop();
      this.#startUp().catch(() => undefined);
    };
    const stop = this.#link.onReady(startUp);
    if (this.#client.status === "ready") queueMicrotask(startUp);
  }

  /** The near cache's counters (hits, misses, bypassed reads, invalidations, flushes), or `undefined` without one. */
  get nearCacheStats(): NearCacheStats | undefined {
    return this.#near === undefined ? undefined : { ...this.#near.stats };
  }

  /**
   * Resolves `true` once the near cache serves reads (the server tracks this client's
   * keys), `false` if that takes longer than `timeoutMs` or there is no near cache. Until
   * then reads go to the server: nothing needs to wait for this, it is for tests and warm
   * starts.
   */
  nearCacheReady(timeoutMs = this.#timeoutMs): Promise<boolean> {
    return this.#near === undefined ? Promise.resolve(false) : this.#near.whenTracking(timeoutMs);
  }

  /** The ioredis client underneath (yours when you passed one in). */
  get client(): Redis | Cluster {
    return this.#client;
  }

  // ---------------------------------------------------------------------------------
  // The engine (see KVStore): arguments are checked, values are JSON text, TTLs whole ms.

  // Reads: one command, no async frame of their own (the hot path).

  protected _get(key: string): Promise<string | undefined> {
    const k = this.#key(key);
    if (this.#near !== undefined) return this.#cachedRead(key, k).then(textOf);
    return this.#link.run("get", () => this.#grouped().get(k), { key }, orUndefined);
  }

  // Writes: the script's argument list built once, in place (a resend sends it again),
  // and no async frame of their own either.

  protected _set(key: string, json: string, ttlMs: number | undefined): Promise<void> {
    const k = this.#key(key);
    const fills = isFilledList(json);
    const argv: ScriptArgv = [
      SET.sha,
      2,
      k,
      requestRecordKey(k, newRequestId()),
      json,
      pxOf(ttlMs),
      this.#recordText,
      fills ? this.#wakeCommand() : "",
      fills ? wakeChannel(k) : "",
    ];
    return this.#written(
      k,
      this.#link.run("set", () => this.#send(SET, argv), { key, write: true }, toVoid),
    );
  }

  protected _delete(key: string): Promise<boolean> {
    const k = this.#key(key);
    const argv: ScriptArgv = [
      DELETE.sha,
      2,
      k,
      requestRecordKey(k, newRequestId()),
      this.#recordText,
    ];
    return this.#written(
      k,
      this.#link.run("delete", () => this.#send(DELETE, argv), { key, write: true }, isOne),
    );
  }

  protected _listAppend(key: string, append: PreparedAppend): Promise<unknown[]> {
    const k = this.#key(key);
    const argv = listAppendArgv(
      k,
      requestRecordKey(k, newRequestId()),
      append,
      this.maxValueBytes,
      this.#recordText,
      this.#wake(k),
    );
    return this.#written(
      k,
      this.#link.run(
        "listAppendUnique",
        () => this.#send(LIST_APPEND, argv),
        { key, write: true },
        (reply) => this.#appended(key, reply),
      ),
    );
  }

  #appended(key: string, reply: unknown): unknown[] {
    const method = "listAppendUnique";
    if (reply === null) return [];
    if (typeof reply === "string") return this.#list(method, key, reply);
    switch (codeOf(reply)) {
      case ReplyCode.Replay: {
        // A resend of an append that ran: the list as it is now (another client may
        // have replaced it since; then the append's list is gone and the answer is []).
        const now = (reply as [string, string?])[1];
        const list = now === undefined ? [] : this.#list(method, key, now);
        return Array.isArray(list) ? list : [];
      }
      case ReplyCode.TooLarge:
        throw new KVError(
          "KV_VALUE_TOO_LARGE",
          `${method}: the resulting list's JSON is ${(reply as unknown[])[1]} bytes, over maxValueBytes (${this.maxValueBytes})`,
        );
      default:
        throw wrongType(method, key, "a list");
    }
  }

  protected _listPop(key: string): Promise<unknown[]> {
    const k = this.#key(key);
    return this.#written(k, this.#pops.pop(key, k));
  }

  /**
   * Standalone: one MGET. Cluster: one call per master, all at once: a script reading each
   * of the master's hash slots with one command (cluster/batches.ts), atomic for them all.
   */
  protected override _mget(keys: string[]): Promise<(string | undefined)[]> {
    const full = keys.map((key) => this.#key(key));
    if (this.#near !== undefined) {
      const load = (missing: string[]) =>
        this.#link.run("mget", () => readManyWithTtl(this.#grouped(), missing));
      return this.#near.readMany(full, load).then((reads) => reads.map(textOf));
    }
    if (!this.#client.isCluster) {
      return this.#link.run("mget", () => this.#grouped().mget(full), {}, orUndefinedAll);
    }
    return clusterMget(this.#link, full);
  }

  /**
   * One script, atomic and once per request. On a Cluster one script per master, all at
   * once, each with one idempotency record for its slots (cluster/batches.ts).
   */
  protected _mset(entries: Map<string, string>, ttlMs: number | undefined): Promise<void> {
    const keys: string[] = [];
    const texts: string[] = [];
    for (const [key, text] of entries) {
      keys.push(this.#key(key));
      texts.push(text);
    }
    const id = newRequestId();
    const wakeCommand = this.#wakeCommand();
    const px = pxOf(ttlMs);
    if (this.#client.isCluster) {
      const call = { id, px, recordMs: this.#recordText, wakeCommand };
      return this.#written(keys, clusterMset(this.#link, keys, texts, call));
    }
    const channels: string[] = [];
    for (let i = 0; i < texts.length; i++) {
      if (isFilledList(texts[i]!)) channels.push(wakeChannel(keys[i]!));
    }
    const record = requestRecordKey(keys[0]!, id);
    const argv = msetArgv(keys, record, texts, px, this.#recordText, wakeCommand, channels);
    return this.#written(
      keys,
      this.#link.run("mset", () => this.#send(MSET, argv), { write: true }, toVoid),
    );
  }

  protected _expire(key: string, ttlMs: number): Promise<boolean> {
    const k = this.#key(key);
    const argv: ScriptArgv = [
      EXPIRE.sha,
      2,
      k,
      requestRecordKey(k, newRequestId()),
      pxOf(ttlMs),
      this.#recordText,
    ];
    return this.#written(
      k,
      this.#link.run("expire", () => this.#send(EXPIRE, argv), { key, write: true }, isOne),
    );
  }

  /** Redis removes expired keys itself (lazily and in the background): nothing to do. */
  protected _purgeExpired(_limit: number): number {
    return 0;
  }

  protected override _exists(key: string): Promise<boolean> {
    const k = this.#key(key);
    if (this.#near !== undefined) return this.#cachedRead(key, k).then((r) => r.text !== null);
    return this.#link.run("exists", () => this.#grouped().exists(k), { key }, isPositive);
  }

  protected _ttl(key: string): Promise<number | undefined> {
    const k = this.#key(key);
    if (this.#near !== undefined) return this.#cachedRead(key, k).then((r) => msLeft(r.pttl));
    return this.#link.run("ttl", () => this.#grouped().pttl(k), { key }, msLeft);
  }

  protected _incr(key: string, amount: number, ttlMs: number | undefined): Promise<number> {
    const k = this.#key(key);
    return this.#written(k, this.#increment(key, k, amount, ttlMs));
  }

  async #increment(
    key: string,
    k: string,
    amount: number,
    ttlMs: number | undefined,
  ): Promise<number> {
    const argv: ScriptArgv = [
      INCR.sha,
      2,
      k,
      requestRecordKey(k, newRequestId()),
      String(amount),
      pxOf(ttlMs),
      this.#recordText,
    ];
    const reply = await this.#link.run("incr", () => this.#send(INCR, argv), {
      key,
      write: true,
    });
    if (!Array.isArray(reply)) return Number(reply);
    // Refused: let core's arithmetic say why, in the same words as every backend.
    const stored = String(reply[1]);
    let current: unknown;
    try {
      current = JSON.parse(stored);
    } catch {
      throw wrongType("incr", key, "a safe integer");
    }
    incremented("incr", key, current, amount);
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `incr: the result must be a safe integer (got ${describeValue(stored)} + ${amount})`,
    );
  }

  protected async _scanPrefix(scan: ResolvedScan): Promise<string[]> {
    let nodes: Redis[];
    if (this.#client.isCluster) {
      await this.#link.ready("scanPrefix");
      nodes = reachableMasters(this.#client as Cluster);
    } else {
      nodes = [this.#client as Redis];
    }
    return scanPrefix(this.#link, "scanPrefix", nodes, { namespace: this.#prefix, ...scan });
  }

  protected override _watch(key: string, onChange: () => void): () => void {
    return this.#wakeups.watch(this.#key(key), onChange);
  }

  protected override async _close(): Promise<void> {
    await this.#near?.close();
    await this.#pops.close();
    this.#wakeups.close();
    this.#link.detach();
    if (this.#own) await closeClient(this.#client, this.#timeoutMs);
  }

  // ---------------------------------------------------------------------------------

  /**
   * Once per backend, when first connected: the recovery sweep of orphaned pops
   * (exactly-once/pops.ts), and the server checks (server-checks.ts: eviction policy,
   * the right to publish wake-ups).
   */
  #startedUp = false;
  async #startUp(): Promise<void> {
    if (this.#startedUp || this.closed) return;
    this.#startedUp = true;
    const client = this.#client;
    const [command, channel] = this.#wake(this.#prefix);
    // First: it needs no node list (SPUBLISH goes to the channel's slot), which a Cluster
    // with a slot unowned at this moment cannot give.
    const probe = warnIfCannotPublish(
      client.isCluster ? `the Redis ${describeClient(client)}` : (client as Redis),
      () => client.call(command, channel, ""),
    );
    const nodes = client.isCluster ? reachableMasters(client as Cluster) : [client as Redis];
    await Promise.all([probe, this.#pops.sweep(nodes, this.#prefix), ...nodes.map(warnIfEvicting)]);
  }

  /**
   * The client, for a command about to be sent. With pipelining on (our client, the
   * default), the commands of concurrent calls leave in groups of `WRITE_GROUP` per
   * socket write (`groupWrites`), reads and scripts alike.
   */
  #grouped(): RedisClient {
    if (this.#batchWrites) groupWrites(this.#client);
    return this.#client;
  }

  /** A write's script, grouped as every command is (`#grouped`). */
  #send(script: LuaScript, argv: ScriptArgv): Promise<unknown> {
    return sendScript(this.#grouped(), script, argv);
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  /** A read through the near cache: a hit without I/O, a miss as GET + PTTL in one round trip. */
  #cachedRead(key: string, k: string): Promise<KeyRead> {
    return this.#near!.read(k, () =>
      this.#link.run("get", () => readWithTtl(this.#grouped(), k), { key }),
    );
  }

  /**
   * With a near cache, a write drops its keys from it once it settled, before the caller
   * sees the result: this client reads its own writes. Not after a failure that had no
   * effect (SPEC.md "Concurrency"): the cached value is still the server's.
   */
  #written<T>(keys: string | string[], write: Promise<T>): Promise<T> {
    const near = this.#near;
    if (near === undefined) return write;
    return write.then(
      (result) => {
        near.onWrite(keys);
        return result;
      },
      (err: unknown) => {
        if (!isKVError(err) || !NO_EFFECT.has(err.code)) near.onWrite(keys);
        throw err;
      },
    );
  }

  /** PUBLISH on a standalone server, SPUBLISH (sharded: only the key's shard) on a Cluster. */
  #wakeCommand(): string {
    return this.#client.isCluster ? "SPUBLISH" : "PUBLISH";
  }

  /** The wake-up arguments of a write that fills the list at `fullKey`. */
  #wake(fullKey: string): readonly [string, string] {
    return [this.#wakeCommand(), wakeChannel(fullKey)];
  }

  #list(method: string, key: string, text: string): unknown[] {
    return decodeStored<unknown[]>(method, key, text);
  }
}

/** Failures that leave the store as it was (SPEC.md "Concurrency"). */
const NO_EFFECT = new Set([
  "KV_INVALID_ARGUMENT",
  "KV_WRONG_TYPE",
  "KV_VALUE_TOO_LARGE",
  "KV_CLOSED",
]);

function textOf(read: KeyRead): string | undefined {
  return read.text ?? undefined;
}

function orUndefined(text: string | null): string | undefined {
  return text ?? undefined;
}

function orUndefinedAll(texts: (string | null)[]): (string | undefined)[] {
  for (let i = 0; i < texts.length; i++) if (texts[i] === null) (texts as unknown[])[i] = undefined;
  return texts as (string | undefined)[];
}

function toVoid(): void {}

function isPositive(n: number): boolean {
  return n > 0;
}

/** A script's "1" or "0" (or 1/0) as a boolean. */
function isOne(reply: unknown): boolean {
  return String(reply) === "1";
}

/** PTTL's answer as `_ttl`'s: PTTL counts to Redis's `when`, one short of the deadline (see pxOf). */
function msLeft(ms: number): number | undefined {
  if (ms === -2) return undefined;
  if (ms === -1) return Number.POSITIVE_INFINITY;
  return ms + 1;
}
