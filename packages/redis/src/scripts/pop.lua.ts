import { defineScript } from "./script.js";

/**
 * `listPopAll`: GETDEL, but only for a list. A bare GETDEL would delete a non-list value
 * before we could refuse it; SPEC.md wants KV_WRONG_TYPE with the value kept.
 *
 *   KEYS[1]  the list's key
 *
 * Replies: the list's JSON text (the key is gone); nil for a missing key; {1} when the
 * value is not a JSON array (kept). The check reads only the first character: every value
 * this library writes is valid JSON, so an array is exactly a value that starts with '['.
 * Decoding a whole list just to look at it would cost O(list) on every pop.
 */
export const POP = defineScript(
  "kv:listPopAll",
  `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if not string.find(raw, '^%s*%[') then return {1} end
redis.call('DEL', KEYS[1])
return raw
`,
);
