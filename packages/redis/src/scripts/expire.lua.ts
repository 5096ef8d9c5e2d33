import { defineScript } from "./protocol.js";

/**
 * `expire`, once per request: a new TTL counted from now for a live key (core's
 * `keepOrSetDeadline` with a TTL given, ttl.ts); a resent one does not push the deadline
 * further, and answers what the first one did.
 *
 *   KEYS[1]  the key
 *   KEYS[2]  the request's idempotency record (same slot)
 *   ARGV[1]  the TTL in whole ms, as PX (protocol.ts `pxOf`)
 *   ARGV[2]  the record's lifetime in ms
 *
 * Replies: "1" (the key was live) or "0".
 */
export const EXPIRE = defineScript(
  "expire",
  `
local done = redis.call('GET', KEYS[2])
if done then return done end
local reply = tostring(redis.call('PEXPIRE', KEYS[1], ARGV[1]))
remember(KEYS[2], reply, ARGV[2])
return reply
`,
);
