import type { KVContext } from "@kv/context";
import type { Report } from "../report.js";

/** Reference example 4: give an existing key a new TTL (15 minutes from now). */
export async function updateTtl(
  context: KVContext,
  report: Report,
  specKey: string,
): Promise<void> {
  report.section("4) Update TTL: expire (900 s)");
  const kv = context.kv();
  report.step(`expire ${specKey} in 900 s`);
  report.equal("expire finds the live key", await kv.expire(specKey, 900), true);
  const ttl = await kv.ttl(specKey);
  report.that(
    "its TTL is now up to 900 s",
    ttl !== undefined && ttl > 850 && ttl <= 900,
    `ttl ${ttl}`,
  );
  const missing = `run:${context.runId}:never-written`;
  report.equal("expire on a missing key returns false", await kv.expire(missing, 900), false);
}
