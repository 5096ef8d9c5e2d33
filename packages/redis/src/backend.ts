import {
  assertKey,
  assertKeys,
  closedError,
  DEFAULT_PURGE_LIMIT,
  describeValue,
  type Entries,
  encodeEntries,
  encodeValue,
  type ItemId,
  incremented,
  invalidArgument,
  type JsonValue,
  type KVBackend,
  KVError,
  type ListAppendOptions,
  prepareListAppend,
  resolveAmount,
  resolveLimit,
  resolveMaxValueBytes,
  resolveScan,
  type ScanOptions,
  type TtlOption,
  ttlFromOptions,
  ttlToMs,
  wrongType,
} from "@kv/core";
import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import {
  closeClient,
  createClient,
  describeClient,
  Link,
  type RedisClient,
  type Timeouts,
} from "./connection.js";
import { scanPrefix } from "./scan.js";
import { APPEND } from "./scripts/append.lua.js";
import { INCR } from "./scripts/incr.lua.js";
import { MSET_PX } from "./scripts/mset.lua.js";
import { POP } from "./scripts/pop.lua.js";
import { evalScript } from "./scripts/script.js";
import { groupBySlot, SLOT_COUNT } from "./slot.js";
import { parseRedisUrl, type RedisUrl } from "./url.js";

export interface RedisBackendOptions {
  /**
   * Where to connect: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS), or a
   * cluster, `redis-cluster://[user:password@]host1:port1,host2:port2` (any few nodes; the
   * rest are discovered). Query parameters set the options below:
   * `?prefix=app:&commandTimeoutMs=2000`. Default `redis://127.0.0.1:6379`.
   */
  url?: string;
  /**
   * An ioredis `Redis` or `Cluster` of yours, instead of `url`. The backend uses it as it
   * is and `close()` leaves it open. It must not set ioredis's `keyPrefix`: use `prefix`.
   */
  client?: Redis | Cluster;
  /**
   * Prepended to every key in Redis, and stripped from the keys `scanPrefix` returns: many
   * apps can share one database. Default `""`. On a cluster, mind hash tags (README).
   */
  prefix?: string;
  /** The largest value, as UTF-8 bytes of JSON (for a list: the whole list). Default 1 MiB. */
  maxValueBytes?: number;
  /**
   * The longest a call waits for Redis, in milliseconds: for the connection when it is
   * being (re)established, then for the reply (per round trip). Past it, the call rejects
   * with KV_UNAVAILABLE. Default 5000.
   */
  commandTimeoutMs?: number;
  /** The longest one connection attempt may take, in milliseconds. Default 5000. Not used with `client`. */
  connectTimeoutMs?: number;
  /**
   * More ioredis options for the client the backend creates (e.g. `tls: { ca }` for a
   * private CA with `rediss://`). The options that give the failure behaviour (offline
   * queue, retries, timeouts) are the backend's and override these.
   */
  redisOptions?: RedisOptions;
  /** More ioredis `Cluster` options, for a `redis-cluster://` URL. */
  clusterOptions?: ClusterOptions;
}

const WHERE = "RedisBackend";
const DEFAULT_URL = "redis://127.0.0.1:6379";
const DEFAULT_TIMEOUT_MS = 5000;

/** The options a URL may carry as query parameters. */
const URL_OPTIONS = ["prefix", "maxValueBytes", "commandTimeoutMs", "connectTimeoutMs"] as const;

/**
 * A TTL of `ms` as Redis's PX. Redis expires a key once `now > when`, SPEC.md from
 * `now >= deadline`: a PX one short lands the expiry on the contract's millisecond. `PX 0`
 * is an error, so a 1 ms TTL stays 1 ms (expiring 1 ms late). `ms` is at most
 * MAX_TTL_MS (core caps it), so it prints as an exact integer.
 */
function pxOf(ms: number): string {
  return String(ms > 1 ? ms - 1 : 1);
}

/**
 * An id as the append script compares it: a type tag, then the value. A number is
 * printed as JavaScript prints it, which Lua parses back to the very same double; a
 * string has its lone surrogates spelled out as the script does (see append.lua.ts).
 */
function tagOf(id: ItemId): string {
  return typeof id === "string" ? `s${spellOut(id)}` : `n${id}`;
}

/** Lone surrogates as the six characters `\udxxx`: the text a Lua string can hold. */
function spellOut(text: string): string {
  if (text.isWellFormed()) return text;
  return text.replace(/[\ud800-\udfff]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A number option from a URL: decimal digits only ("1e3" or "0x10" are refused later as NaN). */
function numberOption(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/**
 * The KV contract on Redis (standalone or Cluster) through ioredis. Every key is one Redis
 * string holding the value's JSON, so `redis-cli GET` shows it and `GET`/`SET`/`EXPIRE`
 * work on lists too. Read-modify-write operations are Lua scripts: one round trip, atomic
 * for every client of the server.
 */
export class RedisBackend implements KVBackend {
  readonly #client: RedisClient;
  readonly #own: boolean;
  readonly #link: Link;
  readonly #prefix: string;
  readonly #maxValueBytes: number;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: RedisBackendOptions | string = {}) {
    const opts: RedisBackendOptions = typeof options === "string" ? { url: options } : options;
    if (typeof opts !== "object" || opts === null) {
      throw invalidArgument(WHERE, "options must be a URL or an object", options);
    }
    if (opts.url !== undefined && opts.client !== undefined) {
      throw new KVError("KV_INVALID_ARGUMENT", `${WHERE}: pass either url or client, not both`);
    }
    const keyPrefix =
      opts.redisOptions?.keyPrefix ??
      opts.clusterOptions?.keyPrefix ??
      opts.clusterOptions?.redisOptions?.keyPrefix;
    if (keyPrefix) {
      throw new KVError(
        "KV_INVALID_ARGUMENT",
        `${WHERE}: ioredis's keyPrefix is not supported (it misses SCAN patterns and replies); use the prefix option`,
      );
    }
    const url =
      opts.client === undefined ? parseRedisUrl(opts.url ?? DEFAULT_URL, WHERE) : undefined;
    const settings = { ...fromQuery(url), ...definedOnly(opts) };

    if (typeof settings.prefix !== "string" || !settings.prefix.isWellFormed()) {
      throw invalidArgument(WHERE, "prefix must be a well-formed string", settings.prefix);
    }
    this.#prefix = settings.prefix;
    this.#maxValueBytes = resolveMaxValueBytes(WHERE, settings.maxValueBytes);
    this.#timeoutMs = resolveLimit(
      WHERE,
      settings.commandTimeoutMs,
      DEFAULT_TIMEOUT_MS,
      "commandTimeoutMs",
    );
    const timeouts: Timeouts = {
      commandMs: this.#timeoutMs,
      connectMs: resolveLimit(
        WHERE,
        settings.connectTimeoutMs,
        DEFAULT_TIMEOUT_MS,
        "connectTimeoutMs",
      ),
    };

    if (url === undefined) {
      const client = opts.client!;
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
      this.#client = createClient(url, timeouts, opts);
      this.#own = true;
      const target = `${url.cluster ? "cluster " : ""}${url.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
      this.#link = new Link(this.#client, {
        own: true,
        timeoutMs: this.#timeoutMs,
        describe: () => target,
        secrets: url.password === undefined ? [] : [url.password],
      });
    }
  }

  /** The ioredis client underneath (yours when you passed one in). */
  get client(): Redis | Cluster {
    return this.#client;
  }

  async get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined> {
    this.#open("get");
    assertKey("get", key);
    const k = this.#key(key);
    const text = await this.#link.run("get", () => this.#client.get(k), key);
    return text === null ? defaultValue : this.#decode<T>("get", key, text);
  }

  async set(key: string, value: JsonValue, options?: TtlOption): Promise<void> {
    this.#open("set");
    assertKey("set", key);
    const ttlMs = ttlFromOptions("set", options);
    const text = encodeValue("set", value, this.#maxValueBytes);
    const k = this.#key(key);
    // SET without PX also clears an earlier TTL, as SPEC.md wants for a replaced value.
    await this.#link.run(
      "set",
      () =>
        ttlMs === undefined
          ? this.#client.set(k, text)
          : this.#client.set(k, text, "PX", pxOf(ttlMs)),
      key,
    );
  }

  async delete(key: string): Promise<boolean> {
    this.#open("delete");
    assertKey("delete", key);
    const k = this.#key(key);
    return Number(await this.#link.run("delete", () => this.#client.del(k), key)) > 0;
  }

  async listAppendUnique<T extends object>(
    key: string,
    items: T[],
    options?: ListAppendOptions,
  ): Promise<T[]> {
    const method = "listAppendUnique";
    this.#open(method);
    assertKey(method, key);
    const append = prepareListAppend(method, items, options);
    const args: string[] = [
      append.ttlMs === undefined ? "" : pxOf(append.ttlMs),
      String(this.#maxValueBytes),
      spellOut(append.idKey),
    ];
    for (const item of append.items) args.push(tagOf(item.id), item.text);
    const k = this.#key(key);
    const reply = await this.#link.run(
      method,
      () => evalScript(this.#client, APPEND, [k], args),
      key,
    );
    if (reply === null) return [];
    if (typeof reply === "string") return this.#decode<T[]>(method, key, reply);
    const [code, bytes] = reply as [number, number?];
    if (Number(code) === 2) {
      throw new KVError(
        "KV_VALUE_TOO_LARGE",
        `${method}: the resulting list's JSON is ${bytes} bytes, over maxValueBytes (${this.#maxValueBytes})`,
      );
    }
    throw wrongType(method, key, "a list");
  }

  async listPopAll<T = JsonValue>(key: string): Promise<T[]> {
    this.#open("listPopAll");
    assertKey("listPopAll", key);
    const k = this.#key(key);
    const reply = await this.#link.run(
      "listPopAll",
      () => evalScript(this.#client, POP, [k], []),
      key,
    );
    if (reply === null) return [];
    if (typeof reply !== "string") throw wrongType("listPopAll", key, "a list");
    const list = this.#decode<T[]>("listPopAll", key, reply);
    // Only a value that starts with "[" but is not JSON gets here: not ours to read.
    if (!Array.isArray(list)) throw wrongType("listPopAll", key, "a list");
    return list;
  }

  /** Standalone: one MGET. Cluster: one MGET per hash slot, atomic per slot (README). */
  async mget<T = JsonValue>(keys: string[]): Promise<(T | undefined)[]> {
    this.#open("mget");
    assertKeys("mget", keys);
    if (keys.length === 0) return [];
    const full = keys.map((key) => this.#key(key));
    const out = new Array<T | undefined>(keys.length);
    const fill = (indexes: readonly number[] | undefined, texts: (string | null)[]) => {
      for (let j = 0; j < texts.length; j++) {
        const i = indexes === undefined ? j : indexes[j]!;
        const text = texts[j] ?? null;
        out[i] = text === null ? undefined : this.#decode<T>("mget", keys[i]!, text);
      }
    };
    if (!this.#client.isCluster) {
      fill(undefined, await this.#link.run("mget", () => this.#client.mget(full)));
      return out;
    }
    await Promise.all(
      Array.from(groupBySlot(full).values(), async (indexes) => {
        const slotKeys = indexes.map((i) => full[i]!);
        fill(indexes, await this.#link.run("mget", () => this.#client.mget(slotKeys)));
      }),
    );
    return out;
  }

  /**
   * Every entry is checked and encoded before anything is sent: an invalid one writes
   * nothing. Standalone: one MSET (no TTL) or one script (TTL), atomic. Cluster: one per
   * hash slot, each atomic (README).
   */
  async mset(entries: Entries, options?: TtlOption): Promise<void> {
    this.#open("mset");
    const ttlMs = ttlFromOptions("mset", options);
    const encoded = encodeEntries("mset", entries, this.#maxValueBytes);
    if (encoded.size === 0) return;
    if (ttlMs === undefined && !this.#client.isCluster) {
      // The common case in one pass: MSET's flat key, value, key, value… arguments.
      const flat: string[] = [];
      for (const [key, text] of encoded) flat.push(this.#key(key), text);
      await this.#link.run("mset", () => this.#client.call("MSET", flat));
      return;
    }
    const keys: string[] = [];
    const texts: string[] = [];
    for (const [key, text] of encoded) {
      keys.push(this.#key(key));
      texts.push(text);
    }
    const write = (indexes: readonly number[] | undefined) => {
      const ks = indexes === undefined ? keys : indexes.map((i) => keys[i]!);
      const vs = indexes === undefined ? texts : indexes.map((i) => texts[i]!);
      if (ttlMs !== undefined) return evalScript(this.#client, MSET_PX, ks, [pxOf(ttlMs), ...vs]);
      const flat: string[] = [];
      for (let i = 0; i < ks.length; i++) flat.push(ks[i]!, vs[i]!);
      return this.#client.call("MSET", flat);
    };
    if (!this.#client.isCluster) {
      await this.#link.run("mset", () => write(undefined));
      return;
    }
    await Promise.all(
      Array.from(groupBySlot(keys).values(), (indexes) =>
        this.#link.run("mset", () => write(indexes)),
      ),
    );
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    this.#open("expire");
    assertKey("expire", key);
    const px = pxOf(ttlToMs("expire", ttlSeconds));
    const k = this.#key(key);
    return Number(await this.#link.run("expire", () => this.#client.pexpire(k, px), key)) === 1;
  }

  /** Redis removes expired keys itself (lazily and in the background): nothing to do. */
  async purgeExpired(limit?: number): Promise<number> {
    this.#open("purgeExpired");
    resolveLimit("purgeExpired", limit, DEFAULT_PURGE_LIMIT);
    return 0;
  }

  async exists(key: string): Promise<boolean> {
    this.#open("exists");
    assertKey("exists", key);
    const k = this.#key(key);
    return Number(await this.#link.run("exists", () => this.#client.exists(k), key)) > 0;
  }

  async ttl(key: string): Promise<number | undefined> {
    this.#open("ttl");
    assertKey("ttl", key);
    const k = this.#key(key);
    const ms = Number(await this.#link.run("ttl", () => this.#client.pttl(k), key));
    if (ms === -2) return undefined;
    if (ms === -1) return Number.POSITIVE_INFINITY;
    // PTTL counts to Redis's `when`, one short of the deadline (see pxOf).
    return (ms + 1) / 1000;
  }

  async incr(key: string, amount?: number, options?: TtlOption): Promise<number> {
    this.#open("incr");
    assertKey("incr", key);
    const by = resolveAmount("incr", amount);
    const ttlMs = ttlFromOptions("incr", options);
    const args = [String(by), ttlMs === undefined ? "" : pxOf(ttlMs)];
    const k = this.#key(key);
    const reply = await this.#link.run(
      "incr",
      () => evalScript(this.#client, INCR, [k], args),
      key,
    );
    if (!Array.isArray(reply)) return Number(reply);
    // Refused: let core's arithmetic say why, in the same words as every backend.
    const stored = String(reply[1]);
    let current: unknown;
    try {
      current = JSON.parse(stored);
    } catch {
      throw wrongType("incr", key, "a safe integer");
    }
    incremented("incr", key, current, by);
    throw new KVError(
      "KV_INVALID_ARGUMENT",
      `incr: the result must be a safe integer (got ${describeValue(stored)} + ${by})`,
    );
  }

  async scanPrefix(prefix: string, options?: ScanOptions): Promise<string[]> {
    this.#open("scanPrefix");
    const scan = resolveScan("scanPrefix", prefix, options);
    let nodes: Redis[];
    if (this.#client.isCluster) {
      await this.#link.ready("scanPrefix");
      nodes = reachableMasters(this.#client as Cluster);
    } else {
      nodes = [this.#client as Redis];
    }
    return scanPrefix(this.#link, "scanPrefix", nodes, { namespace: this.#prefix, ...scan });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.detach();
    if (this.#own) await closeClient(this.#client, this.#timeoutMs);
  }

  #open(method: string): void {
    if (this.#closed) throw closedError(method);
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  #decode<T>(method: string, key: string, text: string): T {
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new KVError(
        "KV_WRONG_TYPE",
        `${method}: the value at ${describeValue(key)} is not JSON (was it written by another program?)`,
        { cause },
      );
    }
  }
}

/**
 * The masters to SCAN, checked to cover every slot. ioredis drops a master it lost from
 * its pool, and SCAN on the others would quietly miss that master's keys: a partial
 * answer is refused as KV_UNAVAILABLE instead.
 */
function reachableMasters(cluster: Cluster): Redis[] {
  const masters = cluster.nodes("master");
  const known = new Set(masters.map((n) => `${n.options.host}:${n.options.port}`));
  const missing = new Set<string>();
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const owner = cluster.slots[slot]?.[0];
    if (owner === undefined || !known.has(owner)) missing.add(owner ?? "(unassigned)");
  }
  if (masters.length === 0 || missing.size > 0) {
    throw new KVError(
      "KV_UNAVAILABLE",
      `scanPrefix: the cluster's keys are not all reachable (no connection to ${[...missing].join(", ") || "any master"})`,
    );
  }
  return masters;
}

interface Settings {
  prefix?: unknown;
  maxValueBytes?: unknown;
  commandTimeoutMs?: unknown;
  connectTimeoutMs?: unknown;
}

/** The backend options carried by the URL's query, checked by name. */
function fromQuery(url: RedisUrl | undefined): Settings & { prefix: string } {
  const out: Settings & { prefix: string } = { prefix: "" };
  if (url === undefined) return out;
  for (const [name, text] of url.query) {
    switch (name) {
      case "prefix":
        out.prefix = text;
        break;
      case "maxValueBytes":
      case "commandTimeoutMs":
      case "connectTimeoutMs":
        out[name] = numberOption(text);
        break;
      default:
        throw new KVError(
          "KV_INVALID_ARGUMENT",
          `${WHERE}: unknown URL option ${JSON.stringify(name)} (valid: ${URL_OPTIONS.join(", ")})`,
        );
    }
  }
  return out;
}

/** The options given explicitly (an `undefined` does not override the URL's). */
function definedOnly(opts: RedisBackendOptions): Settings {
  const out: Settings = {};
  for (const name of URL_OPTIONS) if (opts[name] !== undefined) out[name] = opts[name];
  return out;
}
