// The four examples of the context.kv() reference, plus an inbox under load, on
// whatever store KV_URL names (default: the embedded memory://). The same program,
// unchanged, runs on memory://, lru:// and redis://: that is the point.
import { createContext, createKV, DEFAULT_KV_URL, type KVBackend, redactUrl } from "@kv/context";
import { batch } from "./examples/batch.js";
import { channelInbox } from "./examples/channel-inbox.js";
import { producersConsumers } from "./examples/producers-consumers.js";
import { ttlCache } from "./examples/ttl-cache.js";
import { updateTtl } from "./examples/update-ttl.js";
import { describeError, Report } from "./report.js";

const url = process.env.KV_URL || DEFAULT_KV_URL;
const report = new Report();
console.log(`kv demo: KV_URL=${redactUrl(url)}`);

let backend: KVBackend;
try {
  backend = await createKV(url);
} catch (err) {
  // A bad KV_URL: say why (the message never shows a password) and stop.
  console.error(`kv demo: cannot open the store: ${describeError(err)}`);
  process.exit(1);
}
// A run id of its own: on a shared server (redis://) this run's keys never meet
// another run's, and it cleans up after itself.
const context = createContext({
  kv: backend,
  runId: `demo-${process.pid}-${Date.now().toString(36)}`,
});
console.log(`run ${context.runId}`);

try {
  await channelInbox(context, report);
  const specKey = await ttlCache(context, report);
  const batchKeys = await batch(context, report);
  await updateTtl(context, report, specKey);
  await producersConsumers(context, report);

  report.section("Cleanup");
  for (const key of [specKey, ...batchKeys]) await backend.delete(key);
  report.equal(
    "this run left no keys behind",
    await backend.scanPrefix(`run:${context.runId}:`),
    [],
  );
} catch (err) {
  report.that("the demo ran without an error", false, describeError(err));
} finally {
  await backend.close();
}

if (report.failures === 0) {
  console.log("\nAll expectations met.");
} else {
  console.log(`\n${report.failures} expectation(s) failed.`);
  process.exitCode = 1;
}
