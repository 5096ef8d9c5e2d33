import { isFilledList } from "@kv/core/adapter";
import type { Cluster } from "ioredis";
import type { Link } from "../connection/link.js";
import { requestRecordKey, wakeChannel } from "../exactly-once/side-keys.js";
import {
  CLUSTER_MGET,
  CLUSTER_MSET,
  clusterMgetArgv,
  clusterMsetArgv,
} from "../scripts/cluster-batch.lua.js";
import { MSET, msetArgv } from "../scripts/mset.lua.js";
import { evalOnce, type ScriptArgv, sendScript } from "../scripts/protocol.js";
import { goPerSlot, replyErrorMessage } from "./cross-slot.js";
import { perMaster } from "./fan-out.js";
import { type BySlot, bySlot, keysOf, type SlotPart } from "./slot.js";

/**
 * `mget` and `mset` on a Cluster (fan-out.ts): one script per master for the slots it
 * serves, or the slots' own commands (MGET, the `mset` script) where that is not possible.
 */

/** The stored texts of `keys` (full keys), in order; undefined for a missing one. */
export async function clusterMget(
  link: Link,
  keys: readonly string[],
): Promise<(string | undefined)[]> {
  const slotted = bySlot(keys);
  const { order } = slotted;
  const out = new Array<string | undefined>(keys.length);
  const put = (part: SlotPart, values: readonly (string | null)[], from: number) => {
    for (let i = part.start; i < part.end; i++) out[order[i]!] = values[from++] ?? undefined;
  };
  await perMaster(
    link,
    "mget",
    slotted,
    {},
    {
      addSlot: (pipeline, part) => pipeline.mget(keysOf(slotted, part)),
      takeSlot: (part, reply) => put(part, reply as (string | null)[], 0),
      sendMaster: async (cluster, parts) => {
        let values: (string | null)[];
        try {
          const argv = clusterMgetArgv(slotted, parts);
          values = (await sendScript(cluster, CLUSTER_MGET, argv)) as typeof values;
        } catch (err) {
          const message = replyErrorMessage(err);
          // A read has no effect: on a slot that moved, the whole master goes per slot.
          if (message !== undefined && (await goPerSlot(cluster, message))) return parts;
          throw err;
        }
        let from = 0;
        for (const part of parts) {
          put(part, values, from);
          from += part.end - part.start;
        }
        return [];
      },
    },
  );
  return out;
}

/** What every slot of one `mset` call shares. */
export interface MsetCall {
  /** The call's request id: its idempotency records are named after it. */
  readonly id: string;
  /** The TTL as PX (protocol.ts `pxOf`), "" for none. */
  readonly px: string;
  /** The records' lifetime in ms. */
  readonly recordMs: string;
  /** PUBLISH or SPUBLISH (protocol.ts). */
  readonly wakeCommand: string;
}

/**
 * Writes `texts` under `keys` (full keys, no repeats), once per request. A master's
 * script carries one record for its slots (named after the first slot's first key and
 * the master's place in the call); a slot sent on its own carries its own (named after
 * its first key), as the per-slot script always has. A slot goes one way or the other,
 * never both: it is sent on its own only when no script was to do it, or the script
 * said it left that slot unwritten.
 */
export function clusterMset(
  link: Link,
  keys: readonly string[],
  texts: readonly string[],
  call: MsetCall,
): Promise<void> {
  const slotted = bySlot(keys);
  // Kept for resends: the same arguments, so the same records.
  const argvs = new Map<SlotPart | readonly SlotPart[], ScriptArgv>();
  let masters = 0;
  const masterArgv = (parts: readonly SlotPart[]): ScriptArgv => {
    let argv = argvs.get(parts);
    if (argv === undefined) {
      const first = keys[slotted.order[parts[0]!.start]!]!;
      const record = requestRecordKey(first, `${call.id}.m${++masters}`);
      const channels = filledLists(slotted, parts, texts);
      const { px, recordMs, wakeCommand } = call;
      argv = clusterMsetArgv(slotted, parts, texts, record, px, recordMs, wakeCommand, channels);
      argvs.set(parts, argv);
    }
    return argv;
  };
  return perMaster(
    link,
    "mset",
    slotted,
    { write: true },
    {
      addSlot: (pipeline, part) => {
        let argv = argvs.get(part);
        if (argv === undefined) {
          argv = slotArgv(slotted, part, texts, call);
          argvs.set(part, argv);
        }
        pipeline.call("EVALSHA", argv as (string | number)[]);
        return argv;
      },
      takeSlot: () => {},
      // NOSCRIPT (a node that never saw the script): that slot's script is sent with EVAL.
      onNoScript: (argv) => evalOnce(link.client, MSET, argv as ScriptArgv),
      sendMaster: (cluster, parts) => sendMsetScript(cluster, parts, masterArgv(parts)),
    },
  );
}

/** A master's `mset` script; resolves with the slots it left unwritten. */
async function sendMsetScript(
  cluster: Cluster,
  parts: readonly SlotPart[],
  argv: ScriptArgv,
): Promise<readonly SlotPart[]> {
  const reply = await sendScript(cluster, CLUSTER_MSET, argv);
  if (!Array.isArray(reply)) return [];
  // ["moved", error, slot…]: those slots (numbered from 1) were not written. They go on
  // their own, where they are now; an error that is not about slots (an ACL's NOPERM)
  // comes back from there as the call's error.
  const [, message, ...unwritten] = reply as [string, string, ...number[]];
  await goPerSlot(cluster, message);
  return unwritten.map((n) => parts[n - 1]!);
}

/** "<slot>:<channel>" for the filled lists of `parts`, slot numbering them from 1. */
function filledLists(
  slotted: BySlot,
  parts: readonly SlotPart[],
  texts: readonly string[],
): string[] {
  const { keys, order } = slotted;
  const channels: string[] = [];
  for (let s = 0; s < parts.length; s++) {
    for (let i = parts[s]!.start; i < parts[s]!.end; i++) {
      const at = order[i]!;
      if (isFilledList(texts[at]!)) channels.push(`${s + 1}:${wakeChannel(keys[at]!)}`);
    }
  }
  return channels;
}

/** The per-slot `mset` script's arguments for one slot, with the slot's own record. */
function slotArgv(
  slotted: BySlot,
  part: SlotPart,
  texts: readonly string[],
  call: MsetCall,
): ScriptArgv {
  const keys = keysOf(slotted, part);
  const values = keys.map((_, j) => texts[slotted.order[part.start + j]!]!);
  const channels: string[] = [];
  for (let j = 0; j < values.length; j++) {
    if (isFilledList(values[j]!)) channels.push(wakeChannel(keys[j]!));
  }
  const record = requestRecordKey(keys[0]!, call.id);
  return msetArgv(keys, record, values, call.px, call.recordMs, call.wakeCommand, channels);
}
