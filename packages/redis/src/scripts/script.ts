import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/** A Lua script and its SHA1, the name Redis caches it under. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

export function defineScript(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
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
