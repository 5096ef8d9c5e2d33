import { defineScript } from "./protocol.js";

/**
 * `incr` on a JSON number: core's `incremented` (counter.ts) in Lua, with core's
 * `keepOrSetDeadline` (ttl.ts) for the TTL. Not INCRBY: INCRBY accepts any 64-bit integer
 * (SPEC.md wants safe integers, |n| <= 2^53 - 1, for both the stored value and the
 * result), refuses "5.0" or "1e3" (JSON.parse reads both as safe integers), and fails with
 * a message that does not tell a wrong type from an overflow.
 *
 *   KEYS[1]  the counter's key
 *   KEYS[2]  the request's idempotency record (same slot)
 *   ARGV[1]  the amount: a safe integer, as JS prints it
 *   ARGV[2]  the TTL to set, in whole ms, or "" to keep the key's TTL
 *   ARGV[3]  the record's lifetime in ms
 *
 * Replies: the new value as text (an integer reply would do, but ioredis decodes integer
 * replies above 2^53 - 48 inexactly), also when the request is a resent one that already
 * took effect (the record holds it); {"wrong-type", stored} when the stored value is not
 * a safe integer; {"out-of-range", stored} when the result is outside the safe range.
 * Nothing is written in the last two cases; JavaScript builds the message from the
 * stored text (with core's `incremented`, so the words are every backend's).
 *
 * Lua numbers are doubles, exact for every safe integer. A sum of two safe integers can
 * round once it passes 2^53, but rounding never crosses 2^53 itself, so a result that is
 * out of range is always seen as out of range.
 */
export const INCR = defineScript(
  "incr",
  `
local done = redis.call('GET', KEYS[2])
if done then return done end
local MAX = 9007199254740991
local raw = redis.call('GET', KEYS[1])
local base = 0
if raw then
  local ok, value = pcall(cjson.decode, raw)
  if not ok or type(value) ~= 'number' or value ~= value or math.abs(value) > MAX
      or value ~= math.floor(value) then
    return {'wrong-type', raw}
  end
  base = value
end
local result = base + tonumber(ARGV[1])
if math.abs(result) > MAX then return {'out-of-range', raw or '0'} end
-- "%.0f" prints every safe integer exactly (tostring keeps only 14 digits); + 0 turns -0 into 0.
local text = string.format('%.0f', result + 0)
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], text, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], text, 'PX', ARGV[2])
end
remember(KEYS[2], text, ARGV[3])
return text
`,
);
