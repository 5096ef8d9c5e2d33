import { defineScript } from "./script.js";

/**
 * `incr` on a JSON number. Not INCRBY: INCRBY accepts any 64-bit integer (SPEC.md wants
 * safe integers, |n| <= 2^53 - 1, for both the stored value and the result), refuses
 * "5.0" or "1e3" (JSON.parse reads both as safe integers), and fails with a message that
 * does not tell a wrong type from an overflow.
 *
 *   KEYS[1]  the counter's key
 *   ARGV[1]  the amount: a safe integer, as JS prints it
 *   ARGV[2]  the TTL to set, in whole ms, or "" to keep the key's TTL
 *
 * Replies: the new value as text (an integer reply would do, but ioredis 6 decodes integer
 * replies above 2^53 - 48 inexactly); {1, stored} when the stored value is not a safe
 * integer; {2, stored} when the result is outside the safe range. Nothing is written in
 * the last two cases; JavaScript builds the message from the stored text.
 *
 * Lua numbers are doubles, exact for every safe integer. A sum of two safe integers can
 * round once it passes 2^53, but rounding never crosses 2^53 itself, so a result that is
 * out of range is always seen as out of range.
 */
export const INCR = defineScript(
  "kv:incr",
  `
local MAX = 9007199254740991
local raw = redis.call('GET', KEYS[1])
local base = 0
if raw then
  local ok, value = pcall(cjson.decode, raw)
  if not ok or type(value) ~= 'number' or value ~= value or math.abs(value) > MAX
      or value ~= math.floor(value) then
    return {1, raw}
  end
  base = value
end
local result = base + tonumber(ARGV[1])
if math.abs(result) > MAX then return {2, raw or '0'} end
-- "%.0f" prints every safe integer exactly (tostring keeps only 14 digits); + 0 turns -0 into 0.
local text = string.format('%.0f', result + 0)
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], text, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], text, 'PX', ARGV[2])
end
return text
`,
);
