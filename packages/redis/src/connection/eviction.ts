import type { Redis } from "ioredis";

/**
 * A process warning when a server may evict any key (README "What the server must keep").
 *
 * Under an `allkeys-*` policy Redis evicts what it likes once `maxmemory` is reached:
 * a list (its items are gone), a pop's in-flight record (the items it held are gone) or
 * a write's idempotency record (a resend within the budget then applies twice). No
 * client can make up for that, so the backend says so once instead of failing later
 * without a word. `noeviction` (Redis's default) and `volatile-*` policies say nothing:
 * the in-flight records have no TTL, so those policies never evict them.
 */
export const EVICTION_WARNING_CODE = "KV_REDIS_EVICTION";

/** Servers already warned about, by address: one warning per server and process. */
const warned = new Set<string>();

/**
 * Reads `node`'s eviction policy (`INFO memory`) and warns when it is `allkeys-*`. Says
 * nothing when the server does not tell (an ACL user without `INFO`, a lost connection).
 */
export async function warnIfEvicting(node: Redis): Promise<void> {
  let info: string;
  try {
    info = await node.info("memory");
  } catch {
    return;
  }
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy === undefined || !policy.startsWith("allkeys-")) return;
  const address = `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`;
  if (warned.has(address)) return;
  warned.add(address);
  process.emitWarning(
    `@kv/redis: the Redis server at ${address} runs with maxmemory-policy ${policy}: ` +
      "once full it may evict lists, in-flight pops and idempotency records, so items " +
      "can be lost and a resent write can apply twice. Use noeviction (or a volatile-* " +
      "policy). README: What the server must keep.",
    { type: "KVWarning", code: EVICTION_WARNING_CODE },
  );
}
