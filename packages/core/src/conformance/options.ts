import type { Capabilities, ConformanceOptions, ModelOptions } from "./types.js";

/** A mistake in the options is the adapter author's: say so before any test runs. */
export function assertOptions(options: ConformanceOptions): void {
  const problem = (what: string) =>
    new TypeError(`runConformanceSuite: ${what} (see the ConformanceOptions type)`);
  if (typeof options !== "object" || options === null) throw problem("options must be an object");
  if (typeof options.name !== "string" || options.name === "") {
    throw problem("name must be a non-empty string");
  }
  const test = options.test as Partial<ConformanceOptions["test"]> | undefined;
  for (const fn of ["describe", "it", "beforeEach", "afterEach"] as const) {
    if (typeof test?.[fn] !== "function") {
      throw problem(
        `test.${fn} must be a function: pass your runner's, e.g. test: { describe, it, beforeEach, afterEach } from "vitest" or "node:test"`,
      );
    }
  }
  if (typeof options.create !== "function") throw problem("create must be a function");
  for (const fn of ["connectPeer", "dispose"] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== "function") {
      throw problem(`${fn} must be a function when given`);
    }
  }
  assertCapabilities(options.capabilities, problem);
  if (options.model !== undefined && options.model !== false) {
    assertModelOptions(options.model, problem);
  }
  if (options.checkPurgeScaling !== undefined && typeof options.checkPurgeScaling !== "boolean") {
    throw problem("checkPurgeScaling must be a boolean when given");
  }
}

function assertCapabilities(caps: Capabilities, problem: (what: string) => TypeError): void {
  if (typeof caps !== "object" || caps === null) {
    throw problem(
      'capabilities must be an object, e.g. { clock: "manual", purge: "exact", waitingPops: "notify" }',
    );
  }
  const oneOf = (field: keyof Capabilities, allowed: readonly unknown[], optional = false) => {
    const value = caps[field];
    if (optional && value === undefined) return;
    if (!allowed.includes(value)) {
      throw problem(
        `capabilities.${field} must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}`,
      );
    }
  };
  oneOf("clock", ["manual", "real"]);
  oneOf("purge", ["exact", "bounded"]);
  oneOf("waitingPops", ["notify", "poll", "none"]);
  oneOf("lazyExpiry", [true, false], true);
  oneOf("remote", [true, false], true);
  oneOf("nearCache", [true, false], true);
}

function assertModelOptions(model: ModelOptions, problem: (what: string) => TypeError): void {
  const { runs, seed, replay } = model;
  if (runs !== undefined && (!Number.isSafeInteger(runs) || runs <= 0)) {
    throw problem("model.runs must be a positive integer when given");
  }
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw problem("model.seed must be an integer when given");
  }
  if (replay !== undefined) {
    const properties = ["operations", "scanPrefix", "listAppendUnique"];
    if (
      !properties.includes(replay.property) ||
      !Number.isSafeInteger(replay.seed) ||
      typeof replay.path !== "string" ||
      (replay.replayPath !== undefined && typeof replay.replayPath !== "string")
    ) {
      throw problem(
        "model.replay must be { property, seed, path, replayPath? } exactly as a model failure printed it",
      );
    }
  }
}

/** The manifest with every default filled in. */
export function resolveCapabilities(caps: Capabilities): Required<Capabilities> {
  return {
    clock: caps.clock,
    purge: caps.purge,
    lazyExpiry: caps.lazyExpiry ?? true,
    waitingPops: caps.waitingPops,
    remote: caps.remote ?? false,
    nearCache: caps.nearCache ?? false,
  };
}
