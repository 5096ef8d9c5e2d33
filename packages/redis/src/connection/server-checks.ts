import type { Redis } from "ioredis";
import { describeClient } from "./client.js";

/**
 * Process warnings about a server that cannot keep the guarantees (README "What the
 * server must keep"), checked once when a backend first connects. Each is emitted once
 * per server and process: a `KVWarning` with its own code. Neither ever fails a call.
 */

/** The server may evict keys the guarantees rely on. */
const EVICTION_WARNING_CODE = "KV_REDIS_EVICTION";
/** This user may not publish wake-ups: waiting pops elsewhere do not hear its writes. */
const PUBLISH_WARNING_CODE = "KV_REDIS_NO_PUBLISH";

/** Warnings already emitted: code + server address. */
const warned = new Set<string>();

function warnOnce(code: string, address: string, message: string): void {
  if (warned.has(`${code} ${address}`)) return;
  warned.add(`${code} ${address}`);
  process.emitWarning(`@kv/redis: ${message}`, { type: "KVWarning", code });
}

/**
 * The server `node` is connected to: the socket's peer (right behind a Sentinel, which
 * hands out the master's address), else what it was configured with.
 */
function addressOf(node: Redis): string {
  const stream = node.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (stream?.remoteAddress !== undefined) return `${stream.remoteAddress}:${stream.remotePort}`;
  return describeClient(node);
}

/**
 * Reads `node`'s memory settings (`INFO memory`) and warns when, once full, it may evict
 * what the guarantees rely on:
 * - `allkeys-*`: any key: a list, a pop's in-flight record (its items are then lost), a
 *   write's idempotency record (a resend within the budget then applies twice);
 * - `volatile-*`: keys with a TTL: idempotency records (the same double apply) and
 *   values with a TTL, before their time. In-flight records have no TTL and stay.
 * Nothing under `noeviction`, or without a `maxmemory` (the server never evicts), or
 * when the server does not tell (an ACL user without `INFO`, a lost connection).
 */
export async function warnIfEvicting(node: Redis): Promise<void> {
  let info: string;
  try {
    info = await node.info("memory");
  } catch {
    return;
  }
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  const maxmemory = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? "0");
  if (policy === undefined || policy === "noeviction" || maxmemory === 0) return;
  const address = addressOf(node);
  const what = policy.startsWith("allkeys-")
    ? "lists, in-flight pops and idempotency records, so popped items can be lost and a resent write can apply twice"
    : "idempotency records, so a resent write can apply twice, and values with a TTL before their time";
  warnOnce(
    EVICTION_WARNING_CODE,
    address,
    `the Redis server at ${address} runs with maxmemory-policy ${policy}: once full it may ` +
      `evict ${what}. Use noeviction. README: What the server must keep.`,
  );
}

/**
 * Sends one wake-up (`send`: PUBLISH or SPUBLISH on a channel of this backend's
 * namespace, to nobody) and warns when the server refuses it: an ACL user without
 * channel rights (Redis 7's default for new users). Its writes then succeed without
 * waking anyone (the scripts' publish is a `pcall`), so waiting pops in other clients
 * hear them only when they look again for another reason. `where` names the server (a
 * standalone `Redis`) or the Cluster (a text).
 */
export async function warnIfCannotPublish(
  where: Redis | string,
  send: () => Promise<unknown>,
): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (!(err instanceof Error) || !/NOPERM/.test(err.message)) return;
    const name = typeof where === "string" ? where : `the Redis server at ${addressOf(where)}`;
    warnOnce(
      PUBLISH_WARNING_CODE,
      name,
      `${name} refuses this user's wake-ups (${err.message}): its writes still succeed, ` +
        "but waiting pops in other clients are not woken by them. Grant channel rights " +
        "(&*). README: What the server must keep.",
    );
  }
}
