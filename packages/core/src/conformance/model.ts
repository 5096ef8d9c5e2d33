import { ConformanceAssertionError } from "./assert.js";
import type { ModelRun } from "./model-properties.js";
import type { Suite } from "./suite.js";
import type { ModelProperty } from "./types.js";

/*
 * The model-based tests (model-properties.ts): fast-check runs random operation
 * sequences against a fresh backend and a reference model. fast-check is an optional
 * peer of @kv/core, so model-properties.ts (which imports it) is loaded only when one of
 * these tests runs: the rest of the suite works without it.
 */

const TITLES: Record<ModelProperty, string> = {
  operations: "model: random sequences of every operation match a reference model",
  scanPrefix: "model: scanPrefix pages through exactly the matching keys in code-unit order",
  listAppendUnique: "model: listAppendUnique over batches keeps the first occurrence of every id",
};

type ModelModule = typeof import("./model-properties.js");

async function loadModel(): Promise<ModelModule> {
  try {
    return await import("./model-properties.js");
  } catch (err) {
    throw new ConformanceAssertionError(
      `the model-based tests need the optional peer dependency fast-check (^4): install it, or pass model: false to leave them out (${String(err)})`,
    );
  }
}

export function defineModelTests(suite: Suite): void {
  const { it } = suite.t;
  const { options, caps } = suite;
  if (options.model === false) {
    suite.leaveOut("model-based tests", "model: false");
    return;
  }
  const model = options.model ?? {};
  const realClock = caps.clock === "real";
  const numRuns = model.runs ?? (realClock ? 20 : 100);
  const timeoutMs = realClock ? 180_000 : 120_000;
  const replay = model.replay;
  if (replay !== undefined) {
    suite.leaveOut(
      "the other model-based tests",
      `model.replay replays the "${replay.property}" property only`,
    );
  }

  for (const property of Object.keys(TITLES) as ModelProperty[]) {
    if (replay !== undefined && replay.property !== property) continue;
    // The two focused properties are cheaper to fail on: fewer runs suffice.
    const runs = property === "operations" ? numRuns : Math.max(5, Math.ceil(numRuns / 2));
    it(
      replay
        ? `${TITLES[property]} (replaying seed ${replay.seed}, path ${replay.path})`
        : TITLES[property],
      async () => {
        const { checkModelProperty, commandsReplayPath, describeSettings, reportOf } =
          await loadModel();
        const run: ModelRun = {
          realClock,
          exactPurge: caps.purge === "exact",
          create: (ctx) => options.create(ctx),
          dispose: (backend) => (options.dispose ? options.dispose(backend) : backend.close()),
          numRuns: runs,
          seed: replay?.seed ?? model.seed,
          path: replay?.path,
          replayPath: replay?.replayPath,
        };
        let details: Awaited<ReturnType<typeof checkModelProperty>>;
        try {
          details = await checkModelProperty(property, run);
        } catch (err) {
          if (replay === undefined || !String(err).includes("Unable to replay")) throw err;
          throw new ConformanceAssertionError(
            `model.replay does not fit this run (${String(err)}): seed, path and replayPath must be copied from a failure printed by the same suite version, with the same capabilities.clock and model.runs`,
          );
        }
        if (!details.failed) {
          if (replay !== undefined) {
            console.info(`[${options.name}] model.replay: the counterexample passes now`);
          }
          return;
        }
        const path = details.counterexamplePath ?? "";
        const replayPath = commandsReplayPath(details);
        const replayFields = [
          `property: "${property}"`,
          `seed: ${details.seed}`,
          `path: "${path}"`,
          ...(replayPath === undefined ? [] : [`replayPath: "${replayPath}"`]),
        ];
        const replayOption = `model: { runs: ${numRuns}, replay: { ${replayFields.join(", ")} } }`;
        throw new ConformanceAssertionError(
          [
            `model property "${property}" failed (fast-check seed ${details.seed}, path "${path}", after ${details.numRuns} runs).`,
            `The model ran with ${describeSettings(property, run)}.`,
            `Replay exactly this counterexample: runConformanceSuite({ ...sameOptions, ${replayOption} })`,
            reportOf(details),
          ].join("\n"),
        );
      },
      { timeoutMs, section: "The interface (model-based)" },
    );
  }
}
