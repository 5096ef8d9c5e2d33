import { KVError } from "@kv/core/adapter";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import type { Link, RunOptions } from "../connection/link.js";
import { isNoScript } from "../scripts/protocol.js";
import { groupBySlot, SLOT_COUNT } from "./slot.js";

/**
 * Cluster fan-out: a batch (`mget`, `mset`) runs as one command per hash slot (atomicity
 * holds per slot, README), and the commands of the slots one master serves go to it as
 * one pipeline: one round trip per master, all masters at once. `scanPrefix` runs on
 * every master.
 */

/** Adds one slot's command to `pipeline`; what it returns is handed to `onNoScript`. */
export type AddCommand = (
  pipeline: ChainableCommander,
  slotKeys: string[],
  /** Indexes into the batch's keys of this slot's keys; undefined: all of them (one slot). */
  indexes: readonly number[] | undefined,
) => unknown;

/**
 * Runs a batch over `keys` on a Cluster: `add` queues each slot's command, `take` gets
 * each slot's reply. One `Link.run` (one budget, resends included) per master. Each attempt
 * groups the slots by the master ioredis knows for them then, so a resend after a
 * failover (slots moved) still goes out as one pipeline per master. A slot's command that
 * answers NOSCRIPT is given to `onNoScript` (EVAL it); any other error fails the attempt,
 * and the whole master's pipeline is sent again (reads, and writes that carry a request
 * id, may be).
 */
export async function perMaster(
  link: Link,
  method: string,
  keys: readonly string[],
  options: RunOptions,
  add: AddCommand,
  take: (indexes: readonly number[] | undefined, reply: unknown) => void,
  onNoScript?: (token: unknown) => Promise<unknown>,
): Promise<void> {
  const cluster = link.client as Cluster;
  const slots = groupBySlot(keys);
  if (slots.size === 1) {
    const all = keys as string[];
    await link.run(
      method,
      () => sendPipelines(cluster, [[undefined, all, -1]], add, take, onNoScript),
      options,
    );
    return;
  }
  const groups: SlotGroup[] = [];
  for (const [slot, indexes] of slots) groups.push([indexes, indexes.map((i) => keys[i]!), slot]);
  if (cluster.slots.length === 0) await link.ready(method);
  await Promise.all(
    Array.from(byNode(cluster, groups), (mine) =>
      link.run(method, () => sendPipelines(cluster, mine, add, take, onNoScript), options),
    ),
  );
}

/** One slot of a batch: its indexes, its keys, its slot number (-1: the only one). */
type SlotGroup = [indexes: readonly number[] | undefined, keys: string[], slot: number];

/** `groups` by the nodes (master and replicas) ioredis routes their slot to now. */
function byNode(cluster: Cluster, groups: readonly SlotGroup[]): SlotGroup[][] {
  const nodes = new Map<string, SlotGroup[]>();
  for (const group of groups) {
    const node = group[2] < 0 ? "" : (cluster.slots[group[2]]?.join(",") ?? "");
    const mine = nodes.get(node);
    if (mine === undefined) nodes.set(node, [group]);
    else mine.push(group);
  }
  return [...nodes.values()];
}

/** One attempt: a pipeline per node (one, unless slots moved since the call began). */
async function sendPipelines(
  cluster: Cluster,
  groups: readonly SlotGroup[],
  add: AddCommand,
  take: (indexes: readonly number[] | undefined, reply: unknown) => void,
  onNoScript: ((token: unknown) => Promise<unknown>) | undefined,
): Promise<void> {
  const nodes = groups.length === 1 ? [groups] : byNode(cluster, groups);
  await Promise.all(
    nodes.map(async (mine) => {
      const pipeline = cluster.pipeline();
      const tokens = mine.map(([indexes, slotKeys]) => add(pipeline, slotKeys, indexes));
      const results = (await pipeline.exec()) ?? [];
      const later: number[] = [];
      for (let i = 0; i < mine.length; i++) {
        const err = results[i]?.[0] ?? (results[i] ? null : new Error("no reply in the pipeline"));
        if (err === null) continue;
        if (onNoScript !== undefined && isNoScript(err)) later.push(i);
        else throw err;
      }
      for (let i = 0; i < mine.length; i++) {
        if (results[i]![0] == null) take(mine[i]![0], results[i]![1]);
      }
      await Promise.all(
        later.map((i) => onNoScript!(tokens[i]).then((reply) => take(mine[i]![0], reply))),
      );
    }),
  );
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
