import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { deployments, haveRedis, uniquePrefix } from "./helpers.js";

// The whole contract, against the run's standalone server and its 3-master cluster. Each
// store is a fresh key prefix on the shared server: empty, and invisible to the others
// (scanPrefix included). A peer is a second client, with its own connection, of the
// store the last create() returned.
describe.skipIf(!haveRedis).each(deployments)("@kv/redis ($name)", ({ name, url }) => {
  let lastPrefix = "";
  runConformanceSuite({
    name: `@kv/redis ${name}`,
    test: { describe, it, beforeEach, afterEach },
    capabilities: { clock: "real", purge: "bounded", waitingPops: "notify", remote: true },
    create: ({ maxValueBytes }) => {
      lastPrefix = uniquePrefix("conf");
      return new RedisBackend({ url: url(), prefix: lastPrefix, maxValueBytes });
    },
    connectPeer: ({ maxValueBytes }) =>
      new RedisBackend({ url: url(), prefix: lastPrefix, maxValueBytes }),
  });
});
