import type { KVContext } from "@kv/context";
import type { Report } from "../report.js";

interface Spec {
  model: string;
  steps: number;
}

/** Reference example 2: a short-lived cache, get-or-fetch with a TTL of 5 minutes. */
export async function ttlCache(context: KVContext, report: Report): Promise<string> {
  report.section("2) Short-lived cache: get, else fetch and set (ttl 300 s)");
  const kv = context.kv();
  const key = `run:${context.runId}:spec`;
  let fetches = 0;
  const expensiveFetch = async (): Promise<Spec> => {
    fetches++;
    return { model: "planner-v2", steps: 12 };
  };

  async function getSpec(): Promise<Spec> {
    let spec = await kv.get<Spec>(key);
    if (spec === undefined) {
      report.step(`cache miss on ${key}: fetching`);
      spec = await expensiveFetch();
      await kv.set(key, { ...spec }, { ttlSeconds: 300 }); // cache for 5 minutes
    } else {
      report.step(`cache hit on ${key}`);
    }
    return spec;
  }

  const first = await getSpec();
  const second = await getSpec();
  report.equal("both lookups see the same spec", second, first);
  report.equal("the expensive fetch ran once", fetches, 1);
  const ttl = await kv.ttl(key);
  report.that(
    "the cached spec lives at most 300 s",
    ttl !== undefined && ttl > 250 && ttl <= 300,
    `ttl ${ttl}`,
  );
  return key;
}
