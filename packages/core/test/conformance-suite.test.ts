import { afterEach, beforeEach, describe, it } from "vitest";
import { runConformanceSuite } from "../src/conformance/index.js";
import { MapStore } from "./support/map-store.js";

// The suite run against itself: a Map adapter on core's front door, once dropping expired
// entries that operations touch (lazy expiry, SPEC "The rest") and once leaving them all
// to purgeExpired. Both must pass with exact purge counts.
for (const lazy of [true, false]) {
  runConformanceSuite({
    name: `MapStore (lazy expiry ${lazy ? "on" : "off"})`,
    test: { describe, it, beforeEach, afterEach },
    capabilities: { clock: "manual", purge: "exact", lazyExpiry: lazy, waitingPops: "notify" },
    model: { runs: 30 },
    create: ({ clock, maxValueBytes }) => {
      if (clock === undefined) throw new Error("a manual clock is expected");
      return new MapStore({ clock, maxValueBytes, lazy });
    },
  });
}
