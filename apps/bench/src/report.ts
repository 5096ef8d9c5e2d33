import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatOps } from "./progress.js";
import type {
  InProcessResults,
  RedisResults,
  RunInfo,
  ScalingResults,
  SoakResults,
  SubjectInfo,
  SuiteFile,
} from "./results.js";
import { checkTargets, opsOf, ratioToBound } from "./targets.js";

export type SuiteName = "inprocess" | "scaling" | "soak" | "redis";

export function writeSuite<T>(dir: string, name: SuiteName, file: SuiteFile<T>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}

export function readSuite<T>(dir: string, name: SuiteName): SuiteFile<T> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as SuiteFile<T>;
  } catch {
    return undefined;
  }
}

export interface AllResults {
  inprocess?: SuiteFile<InProcessResults>;
  scaling?: SuiteFile<ScalingResults>;
  soak?: SuiteFile<SoakResults>;
  redis?: SuiteFile<RedisResults>;
}

export function readAll(dir: string): AllResults {
  return {
    inprocess: readSuite<InProcessResults>(dir, "inprocess"),
    scaling: readSuite<ScalingResults>(dir, "scaling"),
    soak: readSuite<SoakResults>(dir, "soak"),
    redis: readSuite<RedisResults>(dir, "redis"),
  };
}

function table(head: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = head.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function runLine(run: RunInfo): string {
  const load = run.loadAverageAtStart.map((l) => l.toFixed(2)).join(" / ");
  return `Run ${run.startedAt}${run.quick ? " (--quick: short, for checking the code paths only)" : ""}; Node ${run.node}, ${run.platform}, ${run.cpus} × ${run.cpuModel}; load average at start ${load}.`;
}

function ratio(r: number | undefined): string {
  return r === undefined ? "" : `${r.toFixed(2)}×`;
}

/** The in-process table: a row per cell, a column per subject, `ops/s · ratio to the bound`. */
export function inProcessTable(data: InProcessResults): string {
  const head = ["operation", ...data.subjects.map((s) => (s.copies ? s.name : `${s.name} †`))];
  const rows = data.cells.map((cell) => [
    cell.label,
    ...data.subjects.map((s) => {
      const r = data.results.find((x) => x.cell === cell.id && x.subject === s.name);
      if (r?.result === undefined) return r?.error ? "error" : "—";
      if (s.name === data.bound) return formatOps(r.result.opsPerSec);
      return `${formatOps(r.result.opsPerSec)} · ${ratio(ratioToBound(data, s.name, cell.id))}`;
    }),
  ]);
  return table(head, rows);
}

/** `{ incr: n, listAppendUnique: n }` → `incr, listAppendUnique: n`: one line per distinct note. */
function groupNotes(notes: Record<string, string>): string {
  const byNote = new Map<string, string[]>();
  for (const [op, note] of Object.entries(notes))
    byNote.set(note, [...(byNote.get(note) ?? []), op]);
  return [...byNote].map(([note, ops]) => `${ops.join(", ")}: ${note}`).join("; ");
}

function subjectsTable(subjects: SubjectInfo[]): string {
  return table(
    ["row", "what", "copies values?", "how", "operations not native to it"],
    subjects.map((s) => [
      s.name,
      s.what,
      s.copies ? "yes" : "**no: keeps references**",
      s.copyNote,
      groupNotes(s.notes) || "none",
    ]),
    ["l", "l", "l", "l", "l"],
  );
}

function emptyCells(data: InProcessResults): string[] {
  return data.results
    .filter((r) => r.result === undefined)
    .map((r) => `- ${r.subject} / ${r.cell}: ${r.error ? `error: ${r.error}` : r.skipped}`);
}

function scalingSection(data: ScalingResults): string {
  const parts: string[] = [];
  const purgeRows = [...new Set(data.purge.map((r) => `${r.subject}|${r.liveTtl}`))];
  const sizes = [...new Set(data.purge.map((r) => r.liveKeys))];
  if (purgeRows.length > 0) {
    parts.push(
      "### purgeExpired(1000) beside N live keys (median ms per call · ratio to the smallest store)",
      "",
      table(
        ["backend", "live keys", ...sizes.map((n) => `${n.toLocaleString("en-US")} live`)],
        purgeRows.map((row) => {
          const [subject, ttl] = row.split("|") as [string, string];
          const of = (n: number | undefined) =>
            data.purge.find(
              (r) => r.subject === subject && String(r.liveTtl) === ttl && r.liveKeys === n,
            );
          const base = of(sizes[0]);
          return [
            subject,
            ttl === "true" ? "all with TTLs" : "no TTLs",
            ...sizes.map((n) => {
              const r = of(n);
              if (!r) return "—";
              const rel = base ? ` · ${(r.msPerCall / base.msPerCall).toFixed(2)}×` : "";
              return `${r.msPerCall.toFixed(3)} ms${rel} (${r.removedPerCall} removed)`;
            }),
          ];
        }),
        ["l", "l", ...sizes.map(() => "r" as const)],
      ),
      "",
    );
  }
  const getSubjects = [...new Set(data.getAtSize.map((r) => r.subject))];
  const getSizes = [...new Set(data.getAtSize.map((r) => r.keys))];
  if (getSubjects.length > 0) {
    parts.push(
      "### get (hit, random keys) by store size (ops/s)",
      "",
      table(
        ["row", ...getSizes.map((n) => `${n.toLocaleString("en-US")} keys`), "largest / smallest"],
        getSubjects.map((subject) => {
          const of = (n: number | undefined) =>
            data.getAtSize.find((r) => r.subject === subject && r.keys === n)?.opsPerSec;
          const first = of(getSizes[0]);
          const last = of(getSizes.at(-1));
          return [
            subject,
            ...getSizes.map((n) => {
              const v = of(n);
              return v === undefined ? "—" : formatOps(v);
            }),
            first && last ? ratio(last / first) : "—",
          ];
        }),
      ),
      "",
    );
  }
  if (data.heap.length > 0) {
    const entries = data.heap[0]!.entries.toLocaleString("en-US");
    const heapSubjects = [...new Set(data.heap.map((r) => r.subject))];
    const of = (subject: string, ttl: boolean) =>
      data.heap.find((r) => r.subject === subject && r.ttl === ttl)?.bytesPerEntry;
    const cell = (subject: string, ttl: boolean) => {
      const v = of(subject, ttl);
      const b = of("bound-json", ttl);
      if (v === undefined) return "—";
      return `${v.toFixed(0)} B${b && subject !== "bound-json" ? ` · ${ratio(v / b)}` : ""}`;
    };
    parts.push(
      `### Heap per entry at ${entries} small entries (ratio to the bound)`,
      "",
      table(
        ["row", "without TTL", "with TTL"],
        heapSubjects.map((s) => [s, cell(s, false), cell(s, true)]),
      ),
      "",
    );
  }
  if (data.scan && data.scan.length > 0) {
    const ms = (v: number) => (v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(v >= 1 ? 1 : 3)} ms`);
    parts.push(
      "### scanPrefix by store size",
      "",
      "Keys written in a scattered order, no TTLs. The first scan builds the ordered index; a page is 100 keys",
      'from `""`; a narrow prefix matches one key; "all pages" pages through every key 1,000 at a time, beside one',
      "plain pass over the keys of a `Map` of the same size.",
      "",
      table(
        [
          "backend",
          "keys",
          "first scan (builds index)",
          "page of 100",
          "narrow prefix",
          "all pages",
          "one Map pass",
        ],
        data.scan.map((r) => [
          r.subject,
          r.keys.toLocaleString("en-US"),
          ms(r.firstScanMs),
          ms(r.firstPageMs),
          `${r.narrowUs.toFixed(1)} µs`,
          ms(r.fullPagingMs),
          ms(r.passMs),
        ]),
      ),
      "",
    );
  }
  if (data.indexCost && data.indexCost.length > 0) {
    parts.push(
      "### What the scan index costs a write",
      "",
      "Sets of new keys into a store of as many keys (awaited, best of three), on a store that never scanned",
      "(no index) and on one that did (the index is kept: each new key is buffered, merged at the next scan).",
      "",
      table(
        ["backend", "new keys", "ns per set, no index", "with the index", "ratio"],
        data.indexCost.map((r) => [
          r.subject,
          r.keys.toLocaleString("en-US"),
          r.nsPerSetWithout.toFixed(0),
          r.nsPerSetWith.toFixed(0),
          ratio(r.nsPerSetWith / r.nsPerSetWithout),
        ]),
      ),
      "",
    );
  }
  if (data.errors.length > 0) parts.push("Errors:", "", ...data.errors.map((e) => `- ${e}`), "");
  return parts.join("\n");
}

function soakSection(data: SoakResults): string {
  const parts: string[] = [
    "Steady churn in real time (src/suites/soak.ts): unique keys set at a fixed rate, nobody reading; default",
    "options on the system clock (background purge rounds every second, writes that help); @kv/lru with max",
    "1,000,000. Held ÷ live once warm; heap after a full GC, minus the heap before the store, at half time and at",
    "the end; event-loop delay (monitorEventLoopDelay, forced GCs excluded) and the longest purge slice.",
    "Chart: `soak.svg`.",
    "",
    table(
      [
        "run",
        "sets/s made",
        "held ÷ live (worst · end)",
        "heap half → end",
        "loop delay max (p99)",
        "longest purge slice",
        "purged in background",
      ],
      data.runs.map((r) => [
        r.label,
        formatOps(r.achievedRate),
        `${r.worstHeldOverLive.toFixed(2)}× · ${r.endHeldOverLive.toFixed(2)}×`,
        `${r.heapHalfMiB.toFixed(1)} → ${r.heapEndMiB.toFixed(1)} MiB`,
        `${r.loopDelayMaxMs.toFixed(1)} ms (${r.loopDelayP99Ms.toFixed(1)})`,
        `${r.longestSliceMs.toFixed(2)} ms`,
        r.purgedInBackground.toLocaleString("en-US"),
      ]),
    ),
    "",
  ];
  if (data.errors.length > 0) parts.push("Errors:", "", ...data.errors.map((e) => `- ${e}`), "");
  return parts.join("\n");
}

/**
 * INFO commandstats counts the commands a script runs as well as the EVALSHA that ran
 * it: `1 evalsha (ran 1 get, 1 set)` says which is which.
 */
function describeCommands(perCall: Record<string, number>): string {
  const fmt = ([cmd, n]: [string, number]) => `${Number(n.toFixed(2))} ${cmd}`;
  const entries = Object.entries(perCall);
  const scripts = entries.filter(([cmd]) => cmd === "evalsha" || cmd === "eval");
  const rest = entries.filter(([cmd]) => cmd !== "evalsha" && cmd !== "eval");
  if (scripts.length === 0) return rest.map(fmt).join(" + ");
  const ran = rest.length > 0 ? ` (ran ${rest.map(fmt).join(", ")})` : "";
  return `${scripts.map(fmt).join(" + ")}${ran}`;
}

function redisSection(data: RedisResults): string {
  const parts: string[] = [`Server: ${data.server}. Pipelining: ${data.pipelining}.`, ""];
  const subjects = data.subjects;
  const keys = [...new Set(data.throughput.map((t) => `${t.op}@${t.concurrency}`))];
  const of = (s: string | undefined, op: string, c: number) =>
    data.throughput.find((t) => t.subject === s && t.op === op && t.concurrency === c);
  parts.push(
    "### Throughput (ops/s · ratio to raw ioredis with the same pipelining setting)",
    "",
    table(
      ["operation", "callers", ...subjects.map((s) => s.name)],
      keys.map((k) => {
        const [op, c] = k.split("@") as [string, string];
        return [
          op,
          c,
          ...subjects.map((s) => {
            const t = of(s.name, op, Number(c));
            if (!t?.result) return t?.error ? "error" : "—";
            const base = s.baseline ? of(s.baseline, op, Number(c))?.result?.opsPerSec : undefined;
            return `${formatOps(t.result.opsPerSec)}${base ? ` · ${ratio(t.result.opsPerSec / base)}` : ""}`;
          }),
        ];
      }),
    ),
    "",
    "### Round trips and server commands per call",
    "",
    "Calls made one after another, after a warm-up call. Round trips (RT) are counted on the client's socket",
    "(a write after a reply starts one); server commands are INFO commandstats deltas divided by the calls",
    "(commandstats also counts the commands a script runs: shown in parentheses), and the server time per call",
    "is their usec delta (a script's or a transaction's own time, not counted twice).",
    "",
    table(
      ["operation", ...subjects.map((s) => s.name)],
      [...new Set(data.roundTrips.map((r) => r.op))].map((op) => [
        op,
        ...subjects.map((s) => {
          const r = data.roundTrips.find((x) => x.subject === s.name && x.op === op);
          if (!r) return "—";
          const usec =
            r.serverUsecPerCall === undefined
              ? ""
              : `, ${r.serverUsecPerCall.toFixed(1)} µs on the server`;
          return `**${Number(r.roundTripsPerCall.toFixed(2))} RT**: ${describeCommands(r.commandsPerCall)}${usec}`;
        }),
      ]),
    ),
    "",
    table(
      ["row", "what", "commands"],
      subjects.map((s) => [s.name, s.what, s.copyNote]),
      ["l", "l", "l"],
    ),
    "",
  );
  if (data.errors.length > 0) parts.push("Errors:", "", ...data.errors.map((e) => `- ${e}`), "");
  return parts.join("\n");
}

/** results.md: every table of the run, the subjects and how they copy, and the issue's targets. */
export function renderMarkdown(all: AllResults): string {
  const out: string[] = ["# Benchmark results", ""];
  out.push(
    "Generated by `apps/bench` (`pnpm bench`). Ratios are to the bound (`bound-json`) for",
    "in-process rows and to raw ioredis for Redis rows; above 1 is faster. † marks rows that keep",
    "references instead of copying values: not a like-for-like comparison.",
    "",
  );
  const checks = checkTargets(
    all.inprocess?.data,
    all.scaling?.data,
    all.redis?.data,
    all.soak?.data,
  );
  if (checks.length > 0) {
    out.push(
      "## Targets",
      "",
      table(
        ["target", "measured", "met"],
        checks.map((c) => [
          c.target,
          c.measured,
          c.met === undefined ? "—" : c.met ? "yes" : "**MISSED**",
        ]),
        ["l", "r", "l"],
      ),
      "",
    );
  }
  if (all.inprocess) {
    const { data, run } = all.inprocess;
    out.push(
      "## In-process (ops/s · ratio to the bound)",
      "",
      runLine(run),
      "Each cell: a fresh store prefilled with 10,000 keys; awaited calls; ops/s from the median batch.",
      "",
      inProcessTable(data),
      "",
      "### Rows",
      "",
      subjectsTable(data.subjects),
      "",
    );
    const empty = emptyCells(data);
    if (empty.length > 0) out.push("Empty cells:", "", ...empty, "");
  }
  if (all.scaling) {
    out.push("## Scaling", "", runLine(all.scaling.run), "", scalingSection(all.scaling.data));
  }
  if (all.soak) {
    out.push("## Soak", "", runLine(all.soak.run), "", soakSection(all.soak.data));
  }
  if (all.redis) {
    out.push("## Redis", "", runLine(all.redis.run), "", redisSection(all.redis.data));
  }
  return `${out.join("\n").trimEnd()}\n`;
}

/** A few lines for the terminal at the end of a run. */
export function renderSummary(all: AllResults): string {
  const lines: string[] = [];
  const ip = all.inprocess?.data;
  if (ip) {
    const cells = ["get-hit/small", "set/small", "mget-100/small", "get-hit/medium", "set/medium"];
    for (const cell of cells) {
      const bound = opsOf(ip, ip.bound, cell);
      const others = ip.subjects
        .filter((s) => s.name !== ip.bound)
        .map((s) => `${s.name} ${ratio(ratioToBound(ip, s.name, cell)) || "—"}`)
        .join(", ");
      lines.push(`${cell}: bound ${bound ? formatOps(bound) : "—"} ops/s; ${others}`);
    }
  }
  for (const c of checkTargets(ip, all.scaling?.data, all.redis?.data, all.soak?.data)) {
    if (c.met === false) lines.push(`MISSED: ${c.target} (measured ${c.measured})`);
  }
  return lines.join("\n");
}
