import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { deployments, haveRedis, uniquePrefix } from "./helpers.js";

// The whole contract with the near cache on (capabilities.nearCache: reads of another
// client's writes may lag by the staleness bound), standalone and Cluster. The peer is a
// plain client: its writes reach the cached store through invalidations only.
describe.skipIf(!haveRedis).each(deployments)("@kv/redis + near cache ($name)", ({ name, url }) => {
  let lastPrefix = "";
  runConformanceSuite({
    name: `@kv/redis ${name} near cache`,
    test: {
      describe,
      it,
      beforeEach,
      afterEach,
      timeoutArgument: "third-argument",
    },
    capabilities: {
      clock: "real",
      purge: "bounded",
      waitingPops: "notify",
      remote: true,
      nearCache: true,
    },
    create: async ({ maxValueBytes }) => {
      lastPrefix = uniquePrefix("nearconf");
      const kv = new RedisBackend({
        url: url(),
        prefix: lastPrefix,
        maxValueBytes,
        nearCache: { max: 10_000 },
      });
      // Start with the cache serving (until then reads bypass it), so that it is exercised.
      await kv.delete("warm-up");
      if (!(await kv.nearCacheReady(10_000))) throw new Error("near cache: no tracking");
      return kv;
    },
    connectPeer: ({ maxValueBytes }) =>
      new RedisBackend({ url: url(), prefix: lastPrefix, maxValueBytes }),
  });
});
