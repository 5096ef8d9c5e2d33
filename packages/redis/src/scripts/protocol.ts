import { createHash } from "node:crypto";
import { type Cluster, Command, type Redis } from "ioredis";

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

/**
 * Lua helpers shared by the write scripts, each prepended to the scripts that call it
 * (and only those: a `local function` is a closure made on every run of the script).
 */
const HELPERS: readonly (readonly [name: string, lua: string])[] = [
  [
    "wake",
    `
-- A wake-up for waiting pops: PUBLISH (standalone) or SPUBLISH (Cluster: the channel hashes
-- to the key's slot, so it reaches only that shard), or nothing when channel is ''. pcall:
-- an ACL user without channel rights (Redis 7's default for new users) gets NOPERM here,
-- after the write took effect; the write must still succeed (its waiters then poll).
local function wake(command, channel)
  if channel ~= '' then redis.pcall(command, channel, '') end
end
`,
  ],
  [
    "remember",
    `
-- The idempotency record of a write: set once the write took effect, it makes a resent
-- request (same id) answer what the first one did instead of running again.
local function remember(record, reply, ms)
  redis.call('SET', record, reply, 'PX', ms)
end
`,
  ],
];

/** EVALSHA's arguments: `[sha, numkeys, ...keys, ...args]`. */
export type ScriptArgv = (string | number)[];

export function defineScript(name: string, body: string): LuaScript {
  let helpers = "";
  for (const [helper, lua] of HELPERS) if (body.includes(`${helper}(`)) helpers += lua;
  const lua = `-- kv:${name}\n${helpers}${body}`;
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

export function isNoScript(err: unknown): boolean {
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
export function evalScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const argv: (string | number)[] = [script.sha, keys.length];
  for (let i = 0; i < keys.length; i++) argv.push(keys[i]!);
  for (let i = 0; i < args.length; i++) argv.push(args[i]!);
  return sendScript(client, script, argv);
}

/**
 * `evalScript` for an argument list already built: `[script.sha, numkeys, ...keys,
 * ...args]` (the hot path builds it once per call, in place; a resend sends it again).
 * No async frame: one promise on the way back, two on NOSCRIPT. The command names are
 * lower case: ioredis matches `autoPipeliningIgnoredCommands` (connection/client.ts)
 * against the name as given.
 */
export function sendScript(
  client: Redis | Cluster,
  script: LuaScript,
  argv: readonly (string | number)[],
): Promise<unknown> {
  return sendEvalsha(client, argv).catch((err: unknown) => {
    if (!isNoScript(err)) throw err;
    return evalOnce(client, script, argv);
  });
}

const NO_ARGS: string[] = [];
const AS_TEXT = { replyEncoding: "utf8" } as const;

/**
 * Sends EVALSHA with an ioredis `Command` built here rather than by `client.call`: `call`
 * hands its arguments to `Command`, which copies them through `Array.prototype.flat`,
 * about 120 ns an argument (a pop has seven, `set` nine, an acknowledgement batch two
 * hundred). Ours are already one flat array; numbers are turned into text here, in place
 * and once (a resend sends the same array), and the command takes the array as it is.
 * `call` stays for a client with a `keyPrefix` (ioredis then rewrites the keys) or
 * friendly error stacks.
 */
function sendEvalsha(
  client: Redis | Cluster,
  argv: readonly (string | number)[],
): Promise<unknown> {
  const args = argv as (string | number)[];
  const options = client.options as { keyPrefix?: string; showFriendlyErrorStack?: boolean };
  if (options.keyPrefix || options.showFriendlyErrorStack) return client.call("evalsha", args);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (typeof arg !== "string") args[i] = String(arg);
  }
  const command = new Command("evalsha", NO_ARGS, AS_TEXT);
  command.args = args;
  return client.sendCommand(command) as Promise<unknown>;
}

/**
 * How many commands a corked socket gathers before it writes them (see
 * `groupWrites`): enough to save most system calls, few enough that the server
 * starts on the first group while the client still builds the next.
 */
export const WRITE_GROUP = 16;

/** Commands gathered on each corked socket since its last write. */
const gathered = new WeakMap<object, number>();

type Corkable = NodeJS.WritableStream & {
  cork?: () => void;
  uncork?: () => void;
  writableCorked?: number;
};

/**
 * Groups the writes of a standalone client's socket: the scripts of concurrent calls
 * leave in one system call per `WRITE_GROUP` commands, and the rest at the end of this
 * tick (Node's `cork`/`uncork`, as node-redis does for a whole tick).
 *
 * Why groups and not the whole tick: one write per tick makes client and server take
 * turns. The server runs a hundred scripts (5 to 50 µs each) while the client waits,
 * then the client reads a hundred replies and makes the next hundred calls while the
 * server waits. Groups let the server start on the first while the client builds the
 * rest, so the two work side by side (set at 100 callers: about 75k/s for a whole tick
 * against about 150k/s in groups of 16, apps/bench README).
 *
 * A command sent while no other awaits its reply leaves at once, uncorked: the server is
 * idle, so there is nothing to gather for and the wait for the end of the tick would be
 * pure latency (a lone caller's every call). The commands that follow it in the same
 * tick find it in flight and are grouped.
 *
 * A socket that closes meanwhile fails its commands as any drop does.
 */
export function groupWrites(client: Redis | Cluster): void {
  if (client.isCluster) return;
  const stream = (client as Redis).stream as Corkable | undefined;
  if (stream?.cork === undefined) return;
  if ((stream.writableCorked ?? 0) === 0) {
    if (awaitingReplies(client as Redis) === 0) return;
    stream.cork();
    gathered.set(stream, 1);
    process.nextTick(uncork, stream);
    return;
  }
  const held = gathered.get(stream);
  // Corked by someone else (ioredis, another backend on this client): theirs to uncork.
  if (held === undefined) return;
  if (held < WRITE_GROUP) {
    gathered.set(stream, held + 1);
    return;
  }
  // A full group: it leaves now, and this command starts the next one (still corked, so
  // the tick's end writes whatever is left).
  stream.uncork?.();
  stream.cork();
  gathered.set(stream, 1);
}

/**
 * The commands written on this client's connection whose replies have not come yet
 * (ioredis's `commandQueue`; its typings keep it private). Unknown counts as busy.
 */
function awaitingReplies(client: Redis): number {
  return (client as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 1;
}

function uncork(stream: Corkable): void {
  gathered.delete(stream);
  stream.uncork?.();
}

/** EVAL of `script` for the arguments of an EVALSHA that answered NOSCRIPT. */
export function evalOnce(
  client: Pick<Redis, "call"> | Pick<Cluster, "call">,
  script: LuaScript,
  argv: readonly (string | number)[],
): Promise<unknown> {
  const again = argv.slice();
  again[0] = script.lua;
  return (client as Redis).call("eval", again);
}
