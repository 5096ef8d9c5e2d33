import { KVError } from "@kv/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { groupBySlot, SLOT_COUNT } from "./slot.js";

/**
 * Cluster fan-out: a batch (`mget`, `mset`) runs as one command per hash slot, all at
 * once; `scanPrefix` runs on every master. Atomicity holds per slot (README).
 *
 * `run(indexes)` gets the indexes into `keys` of one slot's keys (all of them on a
 * standalone server, `indexes` undefined).
 */
export async function perSlot(
  client: Redis | Cluster,
  keys: readonly string[],
  run: (indexes: readonly number[] | undefined) => Promise<void>,
): Promise<void> {
  if (!client.isCluster) {
    await run(undefined);
    return;
  }
  const groups = groupBySlot(keys);
  if (groups.size === 1) {
    await run(undefined);
    return;
  }
  await Promise.all(Array.from(groups.values(), (indexes) => run(indexes)));
}

/**
 * The masters to SCAN, checked to cover every slot. ioredis drops a master it lost from
 * its pool, and SCAN on the others would quietly miss that master's keys: a partial
 * answer is refused as KV_UNAVAILABLE instead.
 */
export function reachableMasters(cluster: Cluster): Redis[] {
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
