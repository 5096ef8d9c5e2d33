import type { Cluster } from "ioredis";

/**
 * What a master's batch script (scripts/cluster-batch.lua.ts) may run into, touching
 * keys of several slots, and what the fan-out does about it.
 */

/**
 * Clients whose servers refused a script that touches several slots: their batches go
 * per slot from then on. Redis 6 and 7 run such a script (no shebang line, one slot per
 * command); a stricter server would say so with one of these: Redis 7's message for a
 * script that declares flags, or an undeclared-keys check (Dragonfly's).
 */
const refusing = new WeakSet<Cluster>();
const REFUSED = /do not hash to the same slot|undeclared key/i;

/**
 * A slot of the script's keys is not on the node that ran it: ioredis's map was stale (a
 * resharding, a failover it has not seen yet) or the slot is being migrated. Redis 6 says
 * "Lua script attempted to access a non local key in a cluster node", Redis 7 "Script
 * attempted to access a non local key in a cluster node script".
 */
const ELSEWHERE = /non local key|cluster is down/;

/** Whether this client's batches go per slot (its server refused a script across slots). */
export function refusesCrossSlot(cluster: Cluster): boolean {
  return refusing.has(cluster);
}

/**
 * Looks at why a batch script left slots undone (its error, or the first error of the
 * slots an `mset` script reported) before they go per slot: true when it was about slots,
 * with the slot map refreshed when they moved, so that the per-slot commands go where the
 * slots are now.
 */
export async function goPerSlot(cluster: Cluster, message: string): Promise<boolean> {
  if (REFUSED.test(message)) {
    refusing.add(cluster);
    return true;
  }
  if (!ELSEWHERE.test(message)) return false;
  await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
  return true;
}

/** A reply error's message (what `goPerSlot` looks at), or undefined for anything else. */
export function replyErrorMessage(err: unknown): string | undefined {
  return err instanceof Error && err.name === "ReplyError" ? err.message : undefined;
}
