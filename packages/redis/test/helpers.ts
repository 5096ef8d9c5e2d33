import { redisCommand } from "@kv/redis-harness";
import { Cluster, Redis } from "ioredis";
import { inject } from "vitest";
import { parseRedisUrl } from "../src/index.js";

export const redisUrl = inject("redisUrl");
export const clusterUrl = inject("clusterUrl");
/** False only outside CI without redis-server (global-setup printed why). */
export const haveRedis = redisUrl !== "";

/** Every key the shared tests write starts with this (global-setup cleans it up). */
export const TEST_NAMESPACE = "kvtest:";

let counter = 0;
/** A key prefix no other test uses: tests share the run's servers. */
export function uniquePrefix(label = "t"): string {
  return `${TEST_NAMESPACE}${label}:${process.pid}:${++counter}:`;
}

/** A plain ioredis client, to look at what the backend stored as `redis-cli` would. */
export function rawClient(url: string): Redis | Cluster {
  const parsed = parseRedisUrl(url);
  return parsed.cluster ? new Cluster(parsed.nodes) : new Redis(parsed.nodes[0]!);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The setup of each describe.each: a name and a URL, standalone or cluster. */
export const deployments = [
  { name: "standalone", url: () => redisUrl },
  { name: "cluster", url: () => clusterUrl },
] as const;

/**
 * A user as Redis 7 makes one by default: every command and key, no channel rights
 * (`acl-pubsub-default resetchannels`), on the server at `port`. `remove()` deletes it.
 */
export async function userWithoutChannels(
  port: number,
): Promise<{ name: string; url: string; remove(): Promise<void> }> {
  const name = `nochannels${process.pid}`;
  await redisCommand(port, "ACL", "SETUSER", name, "on", ">pw", "~*", "+@all", "resetchannels");
  return {
    name,
    url: `redis://${name}:pw@127.0.0.1:${port}`,
    remove: async () => {
      await redisCommand(port, "ACL", "DELUSER", name);
    },
  };
}
