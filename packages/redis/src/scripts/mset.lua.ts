import { defineScript, type ScriptArgv } from "./protocol.js";

/**
 * `mset` of one hash slot's keys (all of them on a standalone server), atomically, once
 * per request, in one round trip. MSET takes no TTL, so with one each key gets a SET PX
 * (core's `deadlineOf`, ttl.ts: a replaced value keeps no earlier TTL).
 *
 *   KEYS[1…n]   the keys (on a cluster, all in one hash slot)
 *   KEYS[n+1]   the request's idempotency record (same slot)
 *   ARGV[1]     the TTL in whole ms, or "" for none
 *   ARGV[2]     the record's lifetime in ms
 *   ARGV[3]     the wake-up command (protocol.ts)
 *   ARGV[4…n+3] the values' JSON, in the order of KEYS
 *   ARGV[n+4…]  "<index>:<channel>" for each key whose value is a filled list
 *
 * Replies: "ok"; {"replay", "ok"} for a resent request that already took effect.
 */
export const MSET = defineScript(
  "mset",
  `
local n = #KEYS - 1
-- The record is its own check: SET NX answers nil when the request already ran.
if not redis.call('SET', KEYS[n + 1], 'ok', 'NX', 'PX', ARGV[2]) then return {'replay', 'ok'} end
if ARGV[1] == '' then
  -- MSET in chunks: unpack is bounded by Lua's C stack.
  for first = 1, n, 1000 do
    local last = math.min(first + 999, n)
    local flat = {}
    for i = first, last do
      flat[#flat + 1] = KEYS[i]
      flat[#flat + 1] = ARGV[i + 3]
    end
    redis.call('MSET', unpack(flat))
  end
else
  for i = 1, n do redis.call('SET', KEYS[i], ARGV[i + 3], 'PX', ARGV[1]) end
end
for i = n + 4, #ARGV do
  local colon = string.find(ARGV[i], ':', 1, true)
  wake(ARGV[3], string.sub(ARGV[i], colon + 1))
end
return 'ok'
`,
);

/** EVALSHA's arguments for MSET: the keys, the record, then ARGV as above. */
export function msetArgv(
  keys: readonly string[],
  record: string,
  values: readonly string[],
  px: string,
  recordMs: string,
  wakeCommand: string,
  channels: readonly string[],
): ScriptArgv {
  const argv: ScriptArgv = [MSET.sha, keys.length + 1];
  for (let i = 0; i < keys.length; i++) argv.push(keys[i]!);
  argv.push(record, px, recordMs, wakeCommand);
  for (let i = 0; i < values.length; i++) argv.push(values[i]!);
  for (let i = 0; i < channels.length; i++) argv.push(channels[i]!);
  return argv;
}
