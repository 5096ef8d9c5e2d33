import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type { Item } from "../data.js";
import type { Pairs } from "../subjects/types.js";
import type { RedisStore, RedisSubject } from "./types.js";

/**
 * listAppendUnique as a user of raw ioredis would write it to keep it atomic and in one
 * round trip: a script that reads the ids and splices the new items' JSON onto the
 * stored text. @kv/redis's own script does more (type-tagged ids, lone surrogates, the
 * size limit, TTL per SPEC.md, wrong-type replies); that difference is part of what the
 * comparison shows.
 *
 *   KEYS[1]   the list's key;  ARGV: per item, its id then its JSON text
 */
const APPEND_LUA = `
local raw = redis.call('GET', KEYS[1])
local seen = {}
if raw then
  for _, e in ipairs(cjson.decode(raw)) do
    if type(e) == 'table' and e.id ~= nil then seen[e.id] = true end
  end
end
local parts = {}
for i = 1, #ARGV, 2 do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    parts[#parts + 1] = ARGV[i + 1]
  end
end
if #parts == 0 then return raw or '[]' end
local text
if raw and raw ~= '[]' then
  text = string.sub(raw, 1, -2) .. ',' .. table.concat(parts, ',') .. ']'
else
  text = '[' .. table.concat(parts, ',') .. ']'
end
redis.call('SET', KEYS[1], text, 'KEEPTTL')
return text
`;
const APPEND_SHA = createHash("sha1").update(APPEND_LUA).digest("hex");

function parse(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

class IoredisRawStore implements RedisStore {
  constructor(readonly client: Redis) {}

  async get(key: string): Promise<unknown> {
    return parse(await this.client.get(key));
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.client.set(key, JSON.stringify(value));
  }

  async setTtl(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.client.set(key, JSON.stringify(value), "PX", Math.ceil(ttlSeconds * 1000));
  }

  async mget(keys: readonly string[]): Promise<unknown[]> {
    return (await this.client.mget(keys as string[])).map(parse);
  }

  prepareMset(pairs: Pairs): unknown {
    return pairs;
  }

  async mset(prepared: unknown): Promise<void> {
    const flat: string[] = [];
    for (const [key, value] of prepared as Pairs) flat.push(key, JSON.stringify(value));
    await this.client.mset(flat);
  }

  /** MSET takes no TTL: a MULTI block of SET … PX, sent as one pipeline. */
  async msetTtl(prepared: unknown, ttlSeconds: number): Promise<void> {
    const px = Math.ceil(ttlSeconds * 1000);
    const multi = this.client.multi();
    for (const [key, value] of prepared as Pairs) multi.set(key, JSON.stringify(value), "PX", px);
    await multi.exec();
  }

  async listAppendUnique(key: string, items: Item[]): Promise<unknown[]> {
    const args: string[] = [];
    for (const item of items) args.push(String(item.id), JSON.stringify(item));
    let text: unknown;
    try {
      text = await this.client.evalsha(APPEND_SHA, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("NOSCRIPT"))) throw err;
      text = await this.client.eval(APPEND_LUA, 1, key, ...args);
    }
    return JSON.parse(text as string);
  }

  async listPopAll(key: string): Promise<unknown[]> {
    const text = await this.client.getdel(key);
    return text === null ? [] : JSON.parse(text);
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}

/**
 * Raw ioredis issuing the commands @kv/redis issues, with the client settings of its
 * backend that bear on throughput: no offline queue (a call waits for "ready" instead)
 * and the same pipelining. Not its `commandTimeout`: ioredis arms a timer per command
 * for it (a few % of client CPU in a profile), which is part of what @kv/redis pays for
 * failing within its timeout, so the comparison shows it.
 */
export function ioredisRaw(autoPipelining: boolean): RedisSubject {
  return {
    name: autoPipelining ? "ioredis-raw (auto-pipelining)" : "ioredis-raw",
    what: `ioredis 6, JSON in user code${autoPipelining ? ", enableAutoPipelining: true" : " (defaults: no auto-pipelining)"}`,
    commands:
      "GET; SET [PX]; MGET; MSET, or MULTI/SET…PX/EXEC with a TTL; EVALSHA append script; GETDEL",
    async create(url) {
      const { hostname, port } = new URL(url);
      const client = new Redis({
        host: hostname,
        port: Number(port),
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        enableAutoPipelining: autoPipelining,
      });
      await client.connect();
      return new IoredisRawStore(client);
    },
  };
}
