import type { SuiteName } from "./report.js";

export const SUITES: readonly SuiteName[] = ["inprocess", "scaling", "soak", "redis"];

export interface Options {
  quick: boolean;
  suites: SuiteName[];
  help: boolean;
  /** Where to write, instead of results/ (or results/quick/). */
  out?: string;
}

export const USAGE = `Usage: pnpm bench [-- options]   (or, in apps/bench: node --expose-gc --import tsx src/main.ts [options])

  --quick          short run (seconds per suite): checks the code paths, numbers are not to be quoted;
                   written to results/quick/ so the full results stay
  --only=<suites>  comma-separated, any of: ${SUITES.join(", ")} (default: all)
  --out=<dir>      write the results there instead (e.g. to re-measure one suite without replacing the full run)
  --help           this text

Full results go to apps/bench/results/: <suite>.json, results.md, chart.svg and soak.svg.`;

export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { quick: false, suites: [...SUITES], help: false };
  for (const arg of argv) {
    if (arg === "--") continue; // what `pnpm bench -- --quick` may pass through
    if (arg === "--quick") options.quick = true;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg.startsWith("--out=") && arg.length > 6) options.out = arg.slice(6);
    else if (arg.startsWith("--only=")) {
      const names = arg.slice("--only=".length).split(",").filter(Boolean);
      const unknown = names.filter((n) => !SUITES.includes(n as SuiteName));
      if (unknown.length > 0 || names.length === 0) {
        throw new Error(
          `--only: unknown suite ${unknown.join(", ") || "(none)"}; valid: ${SUITES.join(", ")}`,
        );
      }
      options.suites = names as SuiteName[];
    } else {
      throw new Error(`unknown argument ${arg}\n\n${USAGE}`);
    }
  }
  return options;
}
