import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/**
 * The script protocol shared by every `*.lua.ts` file here: how a script is named and
 * sent, the named reply codes, and the argument encoders every write uses (TTL as PX, the
 * request record's lifetime, the wake-up channel).
 *
 * Every write is a script, so that it can carry a request id (exactly once, README) and
 * publish a wake-up for waiting pops (README "Waiting pops") in the same round trip.
 * A script's KEYS are all in one hash slot: the key, then its side keys (see
 * `exactly-once/side-keys.ts`), so Cluster runs it on one node.
 */

/** A Lua script and its SHA1, the name Redis caches it under. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/** Lua shared by the write scripts, prepended to each. */
const PRELUDE = `
-- A wake-up for waiting pops: PUBLISH (standalone) or SPUBLISH (Cluster: the channel hashes
-- to the key's slot, so it reaches only that shard), or nothing when channel is ''.
local function wake(command, channel)
  if channel ~= '' then redis.call(command, channel, '') end
end
-- The idempotency record of a write: set once the write took effect, it makes a resent
-- request (same id) answer what the first one did instead of running again.
local function remember(record, reply, ms)
  redis.call('SET', record, reply, 'PX', ms)
end
`;

export function defineScript(name: string, body: string): LuaScript {
  const lua = `-- kv:${name}\n${PRELUDE}${body}`;
  return { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/**
 * What a script answers besides its result: a table whose first element is one of these
 * names (a bare string or nil is the result itself).
 */
export const ReplyCode = {
  /** The key holds a value of another kind (not a JSON list, not a safe integer). */
  WrongType: "wrong-type",
  /** The resulting value would be over maxValueBytes; `[code, bytes]`. */
  TooLarge: "too-large",
  /** `incr`: the result would leave the safe-integer range; `[code, stored]`. */
  OutOfRange: "out-of-range",
  /** A resent request that had already taken effect: `[code, first reply]`. */
  Replay: "replay",
  /** `listPopAll` took items: `[code, json, recovered]`. */
  Popped: "popped",
  /** `listPopAll` found nothing: `[code, ms until an orphaned pop of the key may be taken over, or -1]`. */
  Empty: "empty",
} as const;
export type ReplyCodeName = (typeof ReplyCode)[keyof typeof ReplyCode];

/** The code of a coded reply, or undefined for a plain result. */
export function codeOf(reply: unknown): ReplyCodeName | undefined {
  return Array.isArray(reply) && typeof reply[0] === "string"
    ? (reply[0] as ReplyCodeName)
    : undefined;
}

/**
 * A TTL of `ms` as Redis's PX. Redis expires a key once `now > when`, SPEC.md from
 * `now >= deadline`: a PX one short lands the expiry on the contract's millisecond. `PX 0`
 * is an error, so a 1 ms TTL stays 1 ms (expiring 1 ms late). `ms` is at most
 * MAX_TTL_MS (core caps it), so it prints as an exact integer. `""`: no TTL given.
 */
export function pxOf(ms: number | undefined): string {
  if (ms === undefined) return "";
  return String(ms > 1 ? ms - 1 : 1);
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("NOSCRIPT");
}

/**
 * Runs `script` with EVALSHA: one round trip once the server has it cached. On NOSCRIPT
 * (a server that never saw it, was restarted, or had SCRIPT FLUSH) it is sent once with
 * EVAL, which also caches it again for every client of that server.
 *
 * Not ioredis's `defineCommand`: that adds methods to the client, and the client may be
 * the caller's. The arguments go as one array: `call` does not spread them on the stack,
 * so an `mset` of 100,000 keys is fine.
 */
export async function evalScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const rest = [keys.length, ...keys, ...args];
  try {
    return await client.call("EVALSHA", [script.sha, ...rest]);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return client.call("EVAL", [script.lua, ...rest]);
  }
}
