import { defineScript } from "./script.js";

/**
 * `mset` with a TTL, atomically and in one round trip: MSET takes no TTL, and a
 * MULTI/SET PX…/EXEC block is as atomic but sends every SET as its own command.
 *
 *   KEYS     the keys (on a cluster, all in one hash slot)
 *   ARGV[1]  the TTL in whole ms
 *   ARGV[2…] the values' JSON, in the order of KEYS
 */
export const MSET_PX = defineScript(
  "kv:msetTtl",
  `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1])
end
return #KEYS
`,
);
