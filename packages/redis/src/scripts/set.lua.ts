import { defineScript } from "./protocol.js";

/**
 * `set`, once per request: a resent `set` (its reply was lost) must not overwrite what
 * another client wrote after the first one took effect. SET without PX also clears an
 * earlier TTL, as SPEC.md wants for a replaced value (core's `deadlineOf`, ttl.ts).
 *
 *   KEYS[1]  the key
 *   KEYS[2]  the request's idempotency record (same slot)
 *   ARGV[1]  the value's JSON
 *   ARGV[2]  the TTL in whole ms, or "" for none
 *   ARGV[3]  the record's lifetime in ms
 *   ARGV[4], [5]  the wake-up command and channel ("" unless the value is a filled list)
 *
 * Replies: "ok"; {"replay", "ok"} for a resent request that already took effect.
 */
export const SET = defineScript(
  "set",
  `
-- The record is its own check: SET NX answers nil when the request already ran.
if not redis.call('SET', KEYS[2], 'ok', 'NX', 'PX', ARGV[3]) then return {'replay', 'ok'} end
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
wake(ARGV[4], ARGV[5])
return 'ok'
`,
);
