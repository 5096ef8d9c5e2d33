import type { BySlot, SlotPart } from "../cluster/slot.js";
import { defineScript, type ScriptArgv } from "./protocol.js";

/**
 * `mget` and `mset` of all the hash slots one Cluster master serves, as one script call
 * (cluster/fan-out.ts): the per-command cost of one MGET or one `mset` script per slot
 * was most of a spread-out batch's time.
 *
 * Why this runs on a Cluster: a script's declared KEYS must share one slot (CROSSSLOT
 * otherwise, even with Redis 7's `allow-cross-slot-keys` flag), but a script without a
 * shebang line may touch keys of any slot its node serves, one slot per command: Redis
 * 6 only checks that each command's keys are local, and Redis 7 keeps that for scripts
 * without flags (its "eval compatibility mode"; Redis's own tests hold it). So the keys
 * travel in ARGV, and KEYS[1], one of them, routes the call to the master that serves
 * its slot. A command on a slot that is not there fails ("… non local key …"): the
 * caller sends those slots on their own, where they are now.
 *
 * Each command inside stays within one slot: one MGET (or MSET) per slot, in chunks,
 * since `unpack` is bounded by Lua's C stack (about 8000 values). The keys go as runs
 * after a header (one for all the one-key slots in a row, most of a spread-out batch's):
 * fewer arguments to send and to parse.
 */

/**
 * KEYS[1]    any key of the batch on this master (routing only)
 * ARGV       runs of keys, each after its header h: h > 0, the next h keys share one
 *            slot (MGET); h < 0, each of the next -h keys is alone in its slot (GET).
 *            Most slots of a spread-out batch hold one key: one header for all of them.
 *
 * Replies: the values (nil for a missing key, or one of another type, as MGET answers),
 * in the order of ARGV's keys.
 */
export const CLUSTER_MGET = defineScript(
  "cluster-mget",
  `
local values, count, at, size = {}, 0, 1, #ARGV
while at <= size do
  local header = tonumber(ARGV[at])
  if header < 0 then
    for i = at + 1, at - header do
      -- GET is cheaper than MGET of one key; it fails on another type, where MGET says nil.
      local value = redis.pcall('GET', ARGV[i])
      if type(value) == 'table' then
        if string.sub(value.err, 1, 9) ~= 'WRONGTYPE' then return redis.error_reply(value.err) end
        value = false
      end
      count = count + 1
      values[count] = value
    end
    at = at - header + 1
  else
    local last = at + header
    for first = at + 1, last, 1000 do
      local got = redis.call('MGET', unpack(ARGV, first, math.min(first + 999, last)))
      for i = 1, #got do
        count = count + 1
        values[count] = got[i]
      end
    end
    at = last + 1
  end
end
return values
`,
);

/** EVALSHA's arguments for CLUSTER_MGET: the keys of `parts`, slots of one master. */
export function clusterMgetArgv(batch: BySlot, parts: readonly SlotPart[]): ScriptArgv {
  const { keys, order } = batch;
  const argv: ScriptArgv = [CLUSTER_MGET.sha, 1, keys[order[parts[0]!.start]!]!];
  pushRuns(argv, parts, (i) => argv.push(keys[order[i]!]!));
  return argv;
}

/**
 * Appends `parts` to `argv` as the scripts read them: a run of one-key slots under one
 * negative header, each bigger slot under its key count; `entry(i)` pushes what the
 * script takes for the batch's `i`-th entry in slot order.
 */
function pushRuns(argv: ScriptArgv, parts: readonly SlotPart[], entry: (i: number) => void): void {
  let singles = -1; // where the current run of one-key slots has its header
  for (const { start, end } of parts) {
    if (end - start === 1) {
      if (singles < 0) {
        singles = argv.length;
        argv.push(0);
      }
      (argv[singles] as number)--;
      entry(start);
      continue;
    }
    singles = -1;
    argv.push(end - start);
    for (let i = start; i < end; i++) entry(i);
  }
}

/**
 * `mset` of the slots one master serves, once per request: one idempotency record for
 * the call (in the first slot's, so it is where KEYS[1] routes the call), the first run's
 * outcome. Each slot's keys are written by one command (SET, or MSET: all or nothing),
 * called with pcall: a slot that is not on this node (it moved since the client grouped
 * the keys; in a slot being migrated, a missing key is served elsewhere) is left
 * unwritten and reported, and the caller writes it on its own (mset.lua.ts). A resend of
 * the same call (same record) answers the first run's outcome and writes nothing.
 *
 * KEYS[1]    the first slot's first key (routing only)
 * ARGV[1]    the call's idempotency record
 * ARGV[2]    the TTL in whole ms, or "" for none
 * ARGV[3]    the record's lifetime in ms
 * ARGV[4]    the wake-up command (protocol.ts)
 * ARGV[5]    c, the number of wake-up channels (keys whose value is a filled list)
 * ARGV[6…]   c times "<slot>:<channel>", slot numbering the slots below from 1; then the
 *            slots, as runs after a header h: h > 0, one slot of h keys (h pairs key,
 *            value JSON); h < 0, -h slots of one key each (-h pairs)
 *
 * Replies: "ok", every slot written; {"moved", error, slot…}: those slots were not
 * written (the error of the first), all the others were.
 */
export const CLUSTER_MSET = defineScript(
  "cluster-mset",
  `
local record, px, recordMs = ARGV[1], ARGV[2], ARGV[3]
if not redis.call('SET', record, 'ok', 'NX', 'PX', recordMs) then
  -- A resend: the first run's outcome, "ok" or "<slots> <error>".
  local outcome = redis.call('GET', record)
  if outcome == 'ok' then return 'ok' end
  local space = string.find(outcome, ' ', 1, true)
  local reply = {'moved', string.sub(outcome, space + 1)}
  for slot in string.gmatch(string.sub(outcome, 1, space - 1), '%d+') do
    reply[#reply + 1] = tonumber(slot)
  end
  return reply
end
local failed, failures, firstError = {}, {}, nil
-- Whether a pcall's reply is an error, which leaves the slot unwritten (noted).
local function unwritten(slot, reply)
  if type(reply) ~= 'table' or not reply.err then return false end
  failed[slot] = true
  failures[#failures + 1] = slot
  firstError = firstError or reply.err
  return true
end
-- One slot's pairs ARGV[first..last]: one command, so the slot is written whole or not at all.
local function write(slot, first, last)
  if first + 1 == last then
    if px == '' then
      unwritten(slot, redis.pcall('SET', ARGV[first], ARGV[last]))
    else
      unwritten(slot, redis.pcall('SET', ARGV[first], ARGV[last], 'PX', px))
    end
    return
  end
  if last - first >= 2000 then
    -- More than one MSET (unpack is bounded): all of them must be able to run before
    -- the first does. EXISTS of the same keys passes or fails as MSET would.
    for from = first, last, 2000 do
      local keys = {}
      for i = from, math.min(from + 1999, last), 2 do keys[#keys + 1] = ARGV[i] end
      if unwritten(slot, redis.pcall('EXISTS', unpack(keys))) then return end
    end
  end
  for from = first, last, 2000 do
    if unwritten(slot, redis.pcall('MSET', unpack(ARGV, from, math.min(from + 1999, last)))) then
      return
    end
  end
  if px ~= '' then
    for i = first, last, 2 do redis.call('PEXPIRE', ARGV[i], px) end
  end
end
local channels, size = tonumber(ARGV[5]), #ARGV
local slot, at = 0, 6 + channels
while at <= size do
  local header = tonumber(ARGV[at])
  if header < 0 then
    for i = at + 1, at - 2 * header, 2 do
      slot = slot + 1
      write(slot, i, i + 1)
    end
    at = at - 2 * header + 1
  else
    slot = slot + 1
    write(slot, at + 1, at + 2 * header)
    at = at + 2 * header + 1
  end
end
for i = 6, 5 + channels do
  local colon = string.find(ARGV[i], ':', 1, true)
  if not failed[tonumber(string.sub(ARGV[i], 1, colon - 1))] then
    wake(ARGV[4], string.sub(ARGV[i], colon + 1))
  end
end
if firstError == nil then return 'ok' end
redis.call('SET', record, table.concat(failures, ',') .. ' ' .. firstError, 'PX', recordMs)
local reply = {'moved', firstError}
for i = 1, #failures do reply[i + 2] = failures[i] end
return reply
`,
);

/**
 * EVALSHA's arguments for CLUSTER_MSET: the keys of `parts` (slots of one master) and
 * their `values` (indexed as the batch's keys).
 */
export function clusterMsetArgv(
  batch: BySlot,
  parts: readonly SlotPart[],
  values: readonly string[],
  record: string,
  px: string,
  recordMs: string,
  wakeCommand: string,
  /** "<slot>:<channel>" for each filled list, slot numbering `parts` from 1. */
  channels: readonly string[],
): ScriptArgv {
  const { keys, order } = batch;
  const argv: ScriptArgv = [CLUSTER_MSET.sha, 1, keys[order[parts[0]!.start]!]!, record, px];
  argv.push(recordMs, wakeCommand, channels.length);
  for (let i = 0; i < channels.length; i++) argv.push(channels[i]!);
  pushRuns(argv, parts, (i) => argv.push(keys[order[i]!]!, values[order[i]!]!));
  return argv;
}
