import { defineScript } from "./protocol.js";

/**
 * `delete`, once per request: a resent `delete` answers what the first one did (true if
 * it removed a live key) and does not remove a key another client wrote since.
 *
 *   KEYS[1]  the key
 *   KEYS[2]  the request's idempotency record (same slot)
 *   ARGV[1]  the record's lifetime in ms
 *
 * Replies: "1" (removed) or "0" (there was nothing), the first reply again when resent.
 */
export const DELETE = defineScript(
  "delete",
  `
local done = redis.call('GET', KEYS[2])
if done then return done end
local reply = tostring(redis.call('DEL', KEYS[1]))
remember(KEYS[2], reply, ARGV[1])
return reply
`,
);
