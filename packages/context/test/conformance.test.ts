// The whole conformance suite on backends built from URLs: what createKV wires is the
// very backend, options included. The manual clock, which no URL can carry, comes in
// through createKV's overrides.
import { runConformanceSuite } from "@kv/core/conformance";
import { afterEach, beforeEach, describe, it } from "vitest";
import { createKV } from "../src/index.js";

const test = { describe, it, beforeEach, afterEach };
// An expired entry stays for purgeExpired unless a write or a delete takes it first.
const capabilities = {
  clock: "manual",
  purge: "exact",
  lazyExpiry: true,
  waitingPops: "notify",
} as const;

runConformanceSuite({
  name: 'createKV("memory://…")',
  test,
  capabilities,
  // The background purge runs on a real timer; the suite counts purges itself.
  create: ({ clock, maxValueBytes }) =>
    createKV("memory://?purgeIntervalSeconds=false", { clock, maxValueBytes }),
});

runConformanceSuite({
  name: 'createKV("lru://…")',
  test,
  capabilities,
  // A capacity the suite never reaches: eviction is @kv/lru's own tests' business.
  create: ({ clock, maxValueBytes }) => createKV("lru://?max=100000", { clock, maxValueBytes }),
});
