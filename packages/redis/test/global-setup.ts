import { requireRedisOrSkip, startRedis, startRedisCluster } from "@kv/redis-harness";
import type { TestProject } from "vitest/node";
import { RedisBackend } from "../src/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** `redis://…` of the run's standalone server, or "" when Redis tests are skipped. */
    redisUrl: string;
    /** `redis-cluster://…` of the run's 3-master cluster, or "". */
    clusterUrl: string;
  }
}

/**
 * Starts a throwaway standalone server and a 3-master cluster on free loopback ports for
 * the whole run, and stops them (by pid) after it. Without redis-server: a loud skip, or a
 * failure when CI=true (requireRedisOrSkip).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { available } = requireRedisOrSkip();
  if (!available) {
    project.provide("redisUrl", "");
    project.provide("clusterUrl", "");
    return async () => {};
  }
  // KV_REDIS_URL / KV_REDIS_CLUSTER point the shared tests at servers of yours instead
  // (each test works under its own key prefix); the fault tests always start their own.
  const [server, cluster] = await Promise.all([
    process.env.KV_REDIS_URL ? undefined : startRedis(),
    process.env.KV_REDIS_CLUSTER ? undefined : startRedisCluster(),
  ]);
  project.provide("redisUrl", process.env.KV_REDIS_URL || server!.url);
  project.provide("clusterUrl", process.env.KV_REDIS_CLUSTER || cluster!.url);
  return async () => {
    await Promise.all([
      server ? server.stop() : removeTestKeys(process.env.KV_REDIS_URL!),
      cluster ? cluster.stop() : removeTestKeys(process.env.KV_REDIS_CLUSTER!),
    ]);
  };
}

/** On a server of yours, the keys the tests wrote (all under "kvtest:", see helpers.ts). */
async function removeTestKeys(url: string): Promise<void> {
  const kv = new RedisBackend({ url, prefix: "kvtest:" });
  try {
    for (;;) {
      const keys = await kv.scanPrefix("", { limit: 10_000 });
      if (keys.length === 0) break;
      await Promise.all(keys.map((key) => kv.delete(key)));
    }
  } finally {
    await kv.close();
  }
}
