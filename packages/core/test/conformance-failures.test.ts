import { describe, expect, it } from "vitest";
import type { ManualClock } from "../src/clock.js";
import { type ConformanceOptions, runConformanceSuite } from "../src/conformance/index.js";
import { collectTests } from "./support/collect-tests.js";
import { MapStore } from "./support/map-store.js";

// What an adapter author sees when the suite fails: every message names its SPEC section
// and what was expected, and a model failure can be replayed from what it printed.

/** A deliberate bug: every TTL written by set lasts 1 ms too long. */
class LateTtlStore extends MapStore {
  protected override _set(key: string, json: string, ttlMs: number | undefined) {
    super._set(key, json, ttlMs === undefined ? undefined : ttlMs + 1);
  }
}

function suiteFor(
  make: (clock: ManualClock) => MapStore,
  overrides: Partial<ConformanceOptions> = {},
  lazyExpiry = true,
) {
  return collectTests((test) =>
    runConformanceSuite({
      name: "under test",
      test,
      capabilities: { clock: "manual", purge: "exact", lazyExpiry, waitingPops: "notify" },
      create: ({ clock }) => make(clock!),
      ...overrides,
    }),
  );
}

describe("conformance suite failures", () => {
  it("passes node:test's shape its timeout as an options argument", () => {
    const suite = suiteFor((clock) => new MapStore({ clock, lazy: true }));
    expect(suite.timeoutOf("is idempotent")).toBeTypeOf("number");
  });

  it("a TTL bug fails with the TTL section and the expected value", async () => {
    const suite = suiteFor((clock) => new LateTtlStore({ clock, lazy: false }), {}, false);
    const error = await suite.run("set gives the TTL passed or none");
    expect(error?.message).toMatch(/^\[SPEC "TTL"\] .*expected/);
    expect(error?.message).toContain("SPEC.md ships in @kv/core");
  });

  it("a lazy adapter that declares lazyExpiry: false is told which clause it breaks", async () => {
    const suite = suiteFor((clock) => new MapStore({ clock, lazy: true }), {}, false);
    const error = await suite.run("still counts expired entries that operations touched");
    expect(error?.message).toMatch(/^\[SPEC "The rest"\] .*lazyExpiry/);
  });

  it("the scaling check fails a purge that walks the whole store", async () => {
    const suite = suiteFor((clock) => new MapStore({ clock, lazy: true }), {
      checkPurgeScaling: true,
    });
    const error = await suite.run("beside 100000 live entries");
    expect(error?.message).toMatch(/^\[SPEC "The rest"\] .*O\(n\)/);
  }, 60_000);

  it("a model failure prints seed, path and settings, and replays from them", async () => {
    const make = (clock: ManualClock) => new LateTtlStore({ clock, lazy: false });
    const first = await suiteFor(make, { model: { runs: 100 } }).run("model: random sequences");
    const message = first?.message ?? "";
    expect(message).toContain("maxValueBytes 200");
    const replay =
      /replay: \{ property: "operations", seed: (-?\d+), path: "([\d:]+)", replayPath: "([^"]+)" \}/.exec(
        message,
      );
    expect(replay, message).not.toBeNull();
    const [, seed, path, replayPath] = replay!;
    const counterexample = /Counterexample: .*/.exec(message)?.[0];

    const again = suiteFor(make, {
      model: {
        runs: 100,
        replay: { property: "operations", seed: Number(seed), path: path!, replayPath },
      },
    });
    expect(again.names.filter((name) => name.startsWith("model:"))).toHaveLength(1);
    const replayed = await again.run("model: random sequences");
    expect(replayed?.message).not.toContain("Unable to replay");
    expect(/Counterexample: .*/.exec(replayed?.message ?? "")?.[0]).toBe(counterexample);
  }, 120_000);
});
