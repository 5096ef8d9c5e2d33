import { KVError } from "@kv/core/adapter";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import type { Link, RunOptions } from "../connection/link.js";
import { isNoScript } from "../scripts/protocol.js";
import { refusesCrossSlot } from "./cross-slot.js";
import { type BySlot, SLOT_COUNT, type SlotPart } from "./slot.js";

/**
 * Cluster fan-out: a batch (`mget`, `mset`) is cut into its hash slots, and each master
 * gets one call for all of its slots, all masters at once. That call is one script
 * (scripts/cluster-batch.lua.ts), so a batch costs about what its keys cost, not what a
 * thousand slots' commands would. A master with one slot of the batch gets that slot's
 * own command (MGET, the `mset` script); so do the slots a script could not do (they
 * moved), and every slot when the server refuses scripts across slots, the slots of one
 * master in one pipeline. Either way each command stays within one slot: atomicity holds
 * per slot at least (README). `scanPrefix` runs on every master.
 */

/** How a batch is sent: one script per master, or each slot's own command. */
export interface Batch {
  /** Queues one slot's own command; what it returns is handed to `onNoScript`. */
  addSlot(pipeline: ChainableCommander, part: SlotPart): unknown;
  takeSlot(part: SlotPart, reply: unknown): void;
  /** EVAL of a slot's command that answered NOSCRIPT (a node that never saw the script). */
  onNoScript?(token: unknown): Promise<unknown>;
  /**
   * Sends `parts`, all on one master, as one script; resolves with the parts it left
   * undone, which then go per slot. When an attempt is resent before it resolved, it is
   * called again with the same `parts`.
   */
  sendMaster(cluster: Cluster, parts: readonly SlotPart[]): Promise<readonly SlotPart[]>;
}

/**
 * Runs a batch (its keys grouped by slot) on a Cluster. One `Link.run` (one budget,
 * resends included) per master. How a master's slots go is decided once, at the first
 * attempt: a resend sends the same script again (a write's record then answers its first
 * run; the script follows its first key's slot wherever it moved), and slots sent per
 * slot go per slot again, grouped by the masters ioredis knows then. Any error fails the
 * attempt, and what it had not finished is sent again (reads may be, and every write
 * carries the call's request id).
 */
export async function perMaster(
  link: Link,
  method: string,
  slotted: BySlot,
  options: RunOptions,
  batch: Batch,
): Promise<void> {
  const cluster = link.client as Cluster;
  const { parts } = slotted;
  if (parts.length === 1) {
    await link.run(method, () => sendPerSlot(cluster, parts, batch), options);
    return;
  }
  if (cluster.slots.length === 0) await link.ready(method);
  await Promise.all(
    Array.from(byNode(cluster, parts), (mine) => {
      // Parts still to send per slot; undefined until the master's script has answered.
      let perSlot: readonly SlotPart[] | undefined =
        mine.length === 1 || refusesCrossSlot(cluster) ? mine : undefined;
      return link.run(
        method,
        async () => {
          perSlot ??= await batch.sendMaster(cluster, mine);
          if (perSlot.length > 0) await sendPerSlot(cluster, perSlot, batch);
        },
        options,
      );
    }),
  );
}

/** `parts` by the nodes (master and replicas) ioredis routes their slot to now. */
function byNode(cluster: Cluster, parts: readonly SlotPart[]): SlotPart[][] {
  const nodes = new Map<string, SlotPart[]>();
  // ioredis shares one array between the slots of a range: one name per range.
  let owners: string[] | undefined;
  let node = "";
  for (const part of parts) {
    const now = cluster.slots[part.slot];
    if (now !== owners) {
      owners = now;
      node = now?.join(",") ?? "";
    }
    const mine = nodes.get(node);
    if (mine === undefined) nodes.set(node, [part]);
    else mine.push(part);
  }
  return [...nodes.values()];
}

/** Each slot's own command, a pipeline per node (one, unless slots moved). */
async function sendPerSlot(
  cluster: Cluster,
  parts: readonly SlotPart[],
  batch: Batch,
): Promise<void> {
  const nodes = parts.length === 1 ? [parts] : byNode(cluster, parts);
  await Promise.all(nodes.map((mine) => sendPipeline(cluster, mine, batch)));
}

async function sendPipeline(
  cluster: Cluster,
  parts: readonly SlotPart[],
  batch: Batch,
): Promise<void> {
  const pipeline = cluster.pipeline();
  const tokens = parts.map((part) => batch.addSlot(pipeline, part));
  const results = (await pipeline.exec()) ?? [];
  const later: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const err = results[i]?.[0] ?? (results[i] ? null : new Error("no reply in the pipeline"));
    if (err === null) continue;
    if (batch.onNoScript !== undefined && isNoScript(err)) later.push(i);
    else throw err;
  }
  for (let i = 0; i < parts.length; i++) {
    if (results[i]![0] == null) batch.takeSlot(parts[i]!, results[i]![1]);
  }
  await Promise.all(
    later.map((i) =>
      batch.onNoScript!(tokens[i]).then((reply) => batch.takeSlot(parts[i]!, reply)),
    ),
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
