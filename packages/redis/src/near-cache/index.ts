/**
 * The near cache of `@kv/redis` (SPEC.md "Near cache", issue 14): recent reads of one
 * client kept in the process as JSON text, invalidated by the server.
 *
 * How it works
 * - `lru-cache` holds, per full Redis key, the JSON text (or "missing"), the key's
 *   deadline and the time the filling read was sent. Reads hand out the text: the backend
 *   decodes a fresh copy per read, as without the cache.
 * - Invalidation is Redis's `CLIENT TRACKING` (default mode) redirected to a dedicated
 *   RESP2 connection per server, subscribed to `__redis__:invalidate` (tracking.ts). Keys
 *   are tracked when read; a write by any client (this one included), an expiry, an
 *   eviction, `FLUSHALL`/`FLUSHDB` (a flush message) drop them.
 * - The cache serves only while tracking is up: the server acknowledged `CLIENT TRACKING
 *   ON REDIRECT <id>` on the data connection's current socket, with the subscriber's
 *   current id. Any drop of either connection flushes it and reads bypass it (straight to
 *   the server, nothing cached) until tracking is armed again (after ioredis's `ready`).
 * - A read and an invalidation that cross are caught: a read marks its key pending; an
 *   invalidation (or a flush, or a tracking change) while it is in flight keeps its answer
 *   out of the cache.
 * - TTLs: a miss reads `GET` + `PTTL` in one pipeline (`readWithTtl`); the entry's
 *   deadline counts from when that read was sent, so it ends no later than the key.
 * - Staleness bound: normally an invalidation's delivery (about a millisecond on
 *   loopback). Hard bound under any fault (a lost invalidation, a black-holed connection,
 *   a failover not yet seen): an entry is never served once `maxStalenessMs` (default
 *   2000) has passed since its read was sent. So a cached read returns a value the server
 *   held at some instant within the last `maxStalenessMs`.
 * - Own writes drop the key at once (`onWrite`), before the write resolves, and void reads
 *   of it in flight: this client reads its own writes. (The written value is not cached:
 *   a write does not track the key, so another client's later write would not invalidate
 *   it.) The server also invalidates own writes, so a write path without `onWrite` is
 *   still covered, though only asynchronously.
 * - Cluster: one tracker per master (each master connection of the ioredis Cluster gets its
 *   own subscriber on the same node), re-synced on `+node`, `-node` and `refresh`; the
 *   cache serves only while every master is tracked. Reads must go to masters (ioredis's
 *   default `scaleReads: "master"`). A replica promoted by a failover is tracked once
 *   ioredis reports it as a master; until then the hard bound is what holds.
 *
 * Integration surface (the backend owns the client and its timeouts; keys are FULL Redis
 * keys, prefix included: invalidation messages carry those):
 *
 *   const near = new NearCache({ max, maxBytes?, maxStalenessMs? });  // KV_INVALID_ARGUMENT
 *   near.attach(client);                         // Redis | Cluster: the data connection(s)
 *
 *   near.peek(k): KeyRead | undefined            // sync hit path, no I/O
 *   near.read(k, load: () => Promise<KeyRead>): Promise<KeyRead>
 *   near.readMany(ks, load: (missing: string[]) => Promise<KeyRead[]>): Promise<KeyRead[]>
 *   near.onWrite(k | ks): void                   // after a write that may have taken effect
 *   near.invalidate(k): void;  near.flush(): void
 *   near.close(): Promise<void>                  // before closing the client
 *   near.stats  // { hits, misses, bypassed, invalidations, flushes }
 *   near.tracking: boolean;  near.size: { entries, bytes };  near.whenTracking(ms)
 *
 *   KeyRead = { text: string | null; pttl: number }   // PTTL's numbers: -2, -1 or ms left
 *   readWithTtl(client, k): Promise<KeyRead>          // GET + PTTL, one round trip
 *   readManyWithTtl(client, ks): Promise<KeyRead[]>
 *
 * In RedisBackend (k = this.#key(key)):
 *   _get:    const r = await near.read(k, () => link.run("get", () => readWithTtl(client, k), { key }));
 *            return r.text ?? undefined;
 *   _exists: same read; return r.text !== null;
 *   _ttl:    same read; r.pttl === -2 ? undefined : r.pttl === -1 ? Infinity : r.pttl + 1
 *            (the +1 as today: PTTL counts to Redis's `when`, one short of the deadline;
 *            from the cache the TTL may read a millisecond or two short, never long)
 *   _mget:   const rs = await near.readMany(full, (missing) => <GET+PTTL of `missing`,
 *            per slot on a Cluster, through link.run>); return rs.map((r) => r.text ?? undefined);
 *   writes:  set, delete, incr, expire, listAppendUnique, listPopAll: near.onWrite(k) once the
 *            write settled, before the engine method returns or throws: on success, and on any
 *            failure except the no-effect ones (KV_INVALID_ARGUMENT, KV_WRONG_TYPE,
 *            KV_VALUE_TOO_LARGE, KV_CLOSED; dropping then is harmless but makes a cached TTL
 *            and the server's disagree by a millisecond or two, which the suite's "unchanged"
 *            check notices). A KV_UNAVAILABLE write may have landed: drop.
 *            mset: near.onWrite(all keys of the call), same rule.
 *            The pop book's later restores and other connections' writes (wake-ups) are
 *            server writes like any other: the server invalidates them.
 *   close:   await near.close() before closing the client.
 *   options: `nearCache: { max, maxBytes?, maxStalenessMs? }`, URL `?nearCache=<max>`: new
 *            NearCache(...) + attach(this.#client) in the constructor when given (one near
 *            cache per client: a second attach of the same client is KV_INVALID_ARGUMENT).
 * Nothing else changes: every other operation goes to the server as before. The loads go
 * through the Link like any read (it waits for the connection, bounds the time, maps
 * errors to KV_UNAVAILABLE). test/near-cache-conformance.test.ts does all of the above
 * from a subclass (NearCachedRedis) and runs the whole conformance suite on it with
 * `capabilities.nearCache`.
 */
export {
  DEFAULT_MAX_STALENESS_MS,
  type KeyRead,
  NearCache,
  type NearCacheOptions,
  type NearCacheStats,
} from "./near-cache.js";
export { readManyWithTtl, readWithTtl } from "./read-with-ttl.js";
export { INVALIDATE_CHANNEL } from "./tracking.js";
