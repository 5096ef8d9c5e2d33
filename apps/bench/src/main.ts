/**
 * `pnpm bench`: the in-process comparison, the scaling checks, the soak and the Redis comparison,
 * in one run on one machine. Progress goes to stderr; results to apps/bench/results/.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChart, renderSoakChart } from "./chart.js";
import { parseArgs, USAGE } from "./cli.js";
import { FULL_TIMING, QUICK_TIMING } from "./measure.js";
import { progress } from "./progress.js";
import { readAll, renderMarkdown, renderSummary, writeSuite } from "./report.js";
import type { RunInfo } from "./results.js";
import { runInProcess } from "./suites/inprocess.js";
import { FULL_SIZES, QUICK_SIZES, runScaling } from "./suites/scaling.js";
import { FULL_SOAK, QUICK_SOAK, runSoak } from "./suites/soak.js";

const here = dirname(fileURLToPath(import.meta.url));
const resultsRoot = join(here, "..", "results");

function runInfo(quick: boolean, startedAt: Date, load: number[]): RunInfo {
  const cpu = cpus();
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick,
    node: process.versions.node,
    platform: `${platform()} ${release()}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? "unknown",
    loadAverageAtStart: load,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  if (typeof globalThis.gc !== "function") {
    progress(
      "warning: global.gc is not exposed (run with node --expose-gc): no heap figures, no GC between cells",
    );
  }
  const dir = options.out
    ? resolve(options.out)
    : options.quick
      ? join(resultsRoot, "quick")
      : resultsRoot;
  const timing = options.quick ? QUICK_TIMING : FULL_TIMING;
  progress(
    `kv bench: ${options.suites.join(", ")}${options.quick ? " (--quick)" : ""}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; results in ${relative(process.cwd(), dir) || "."}`,
  );

  for (const suite of options.suites) {
    const startedAt = new Date();
    const load = loadavg();
    progress(`--- ${suite} ---`);
    let path: string;
    if (suite === "inprocess") {
      const data = await runInProcess(timing);
      path = writeSuite(dir, suite, { run: runInfo(options.quick, startedAt, load), data });
    } else if (suite === "scaling") {
      const data = await runScaling(options.quick ? QUICK_SIZES : FULL_SIZES, timing);
      path = writeSuite(dir, suite, { run: runInfo(options.quick, startedAt, load), data });
    } else if (suite === "soak") {
      const data = await runSoak(options.quick ? QUICK_SOAK : FULL_SOAK);
      path = writeSuite(dir, suite, { run: runInfo(options.quick, startedAt, load), data });
    } else {
      // Loaded only when asked for: the other suites never load ioredis.
      const { runRedis } = await import("./suites/redis.js");
      const data = await runRedis(timing, options.quick);
      path = writeSuite(dir, suite, { run: runInfo(options.quick, startedAt, load), data });
    }
    progress(`wrote ${relative(process.cwd(), path)}`);
  }

  // The report and the chart cover every suite's latest results in `dir`, so a run of
  // one suite (--only) refreshes its part and keeps the others.
  const all = readAll(dir);
  writeFileSync(join(dir, "results.md"), renderMarkdown(all));
  progress(`wrote ${relative(process.cwd(), join(dir, "results.md"))}`);
  if (all.inprocess) {
    writeFileSync(join(dir, "chart.svg"), renderChart(all.inprocess.data));
    progress(`wrote ${relative(process.cwd(), join(dir, "chart.svg"))}`);
  }
  if (all.soak) {
    writeFileSync(join(dir, "soak.svg"), renderSoakChart(all.soak.data));
    progress(`wrote ${relative(process.cwd(), join(dir, "soak.svg"))}`);
  }
  console.log(renderSummary(all));
}

main().then(
  // Stray handles (a client's reconnect timer, an unref'd purge) must not keep the run alive.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
