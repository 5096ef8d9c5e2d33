import type { KVContext } from "@kv/context";
import type { Report } from "../report.js";

/** Reference example 3: a batch write with one shared TTL, then a batch read. */
export async function batch(context: KVContext, report: Report): Promise<string[]> {
  report.section("3) Batch write/read: mset (ttl 600 s) + mget");
  const kv = context.kv();
  const stepKey = `run:${context.runId}:step`;
  const etaKey = `run:${context.runId}:eta`;

  report.step(`mset ${stepKey} = 42, ${etaKey} = 120`);
  await kv.mset({ [stepKey]: 42, [etaKey]: 120 }, { ttlSeconds: 600 });
  const [step, eta] = await kv.mget<number>([stepKey, etaKey]);
  report.step(`mget -> step ${step}, eta ${eta}`);
  report.equal("mget returns the values in the order asked", [step, eta], [42, 120]);
  report.equal(
    "a missing key reads as undefined, in its slot",
    await kv.mget([stepKey, `run:${context.runId}:missing`]),
    [42, undefined],
  );
  const ttls = await Promise.all([kv.ttl(stepKey), kv.ttl(etaKey)]);
  report.that(
    "both keys share the 600 s TTL",
    ttls.every((t) => t !== undefined && t > 550 && t <= 600),
    `ttls ${ttls.join(", ")}`,
  );
  return [stepKey, etaKey];
}
