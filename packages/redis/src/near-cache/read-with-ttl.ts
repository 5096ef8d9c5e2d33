import type { Cluster, Redis } from "ioredis";
import type { KeyRead } from "./near-cache.js";

type Client = Redis | Cluster;

/**
 * `GET key` and `PTTL key` in one pipeline (one round trip; on a Cluster the one node of
 * the key): the text and how long it has left. Both are reads, so the connection's
 * `CLIENT TRACKING` tracks the key. Not atomic: a write between the two is seen as the
 * pair it leaves (the near cache does not cache a pair that does not agree, and the
 * write's invalidation voids the rest). Rejects with the first error of either command.
 */
export async function readWithTtl(client: Client, key: string): Promise<KeyRead> {
  const results = await client.pipeline().get(key).pttl(key).exec();
  return pairAt(results, 0);
}

/**
 * `readWithTtl` of several keys: one pipeline on a standalone server; on a Cluster one
 * pipeline per key, all at once (a pipeline there must stay within one slot; the backend
 * may group keys per slot itself and call `readWithTtl`-like pipelines per group).
 */
export async function readManyWithTtl(client: Client, keys: readonly string[]): Promise<KeyRead[]> {
  if (keys.length === 0) return [];
  if (client.isCluster) return Promise.all(keys.map((key) => readWithTtl(client, key)));
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.get(key).pttl(key);
  const results = await pipeline.exec();
  return keys.map((_, i) => pairAt(results, 2 * i));
}

function pairAt(results: [Error | null, unknown][] | null, at: number): KeyRead {
  if (results === null) throw new Error("nearCache: the pipeline was not run");
  const [getError, text] = results[at]!;
  if (getError) throw getError;
  const [pttlError, pttl] = results[at + 1]!;
  if (pttlError) throw pttlError;
  return { text: text === null || text === undefined ? null : String(text), pttl: Number(pttl) };
}
