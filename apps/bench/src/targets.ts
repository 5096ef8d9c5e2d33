import type { InProcessResults, RedisResults, ScalingResults, SoakResults } from "./results.js";

/** One target figure (apps/bench/README.md "The targets"), checked against a run's results. */
export interface TargetCheck {
  target: string;
  /** What was measured, e.g. `0.84x`. */
  measured: string;
  /** `undefined` when the run did not measure it. */
  met: boolean | undefined;
}

const RATIO_CELLS = [
  "get-hit/small",
  "set/small",
  "mget-100/small",
  "get-hit/medium",
  "set/medium",
  "mget-100/medium",
];

export function opsOf(data: InProcessResults, subject: string, cell: string): number | undefined {
  return data.results.find((r) => r.subject === subject && r.cell === cell)?.result?.opsPerSec;
}

export function ratioToBound(
  data: InProcessResults,
  subject: string,
  cell: string,
): number | undefined {
  const ops = opsOf(data, subject, cell);
  const bound = opsOf(data, data.bound, cell);
  return ops === undefined || bound === undefined ? undefined : ops / bound;
}

function check(target: string, value: number | undefined, ok: (v: number) => boolean, unit = "x") {
  return {
    target,
    measured: value === undefined ? "not measured" : `${value.toFixed(2)}${unit}`,
    met: value === undefined ? undefined : ok(value),
  };
}

function inProcessChecks(data: InProcessResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const [subject, floor] of [
    ["kv-memory", 0.8],
    ["kv-lru", 0.7],
  ] as const) {
    for (const cell of RATIO_CELLS) {
      out.push(
        check(
          `${subject} ${cell} >= ${floor}x bound`,
          ratioToBound(data, subject, cell),
          (v) => v >= floor,
        ),
      );
    }
  }
  return out;
}

function scalingChecks(data: ScalingResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const subject of ["kv-memory", "kv-lru"]) {
    for (const liveTtl of [true, false]) {
      const rows = data.purge.filter((r) => r.subject === subject && r.liveTtl === liveTtl);
      const small = rows.find((r) => r.liveKeys === 10_000);
      const big = rows.find((r) => r.liveKeys === 1_000_000);
      out.push(
        check(
          `${subject} purgeExpired(1000) beside 1M live keys (${liveTtl ? "all with TTLs" : "no TTLs"}) <= 3x beside 10k`,
          small && big ? big.msPerCall / small.msPerCall : undefined,
          (v) => v <= 3,
        ),
      );
    }
  }
  for (const subject of ["kv-memory", "kv-lru"]) {
    for (const ttl of [false, true]) {
      const bound = data.heap.find((r) => r.subject === "bound-json" && r.ttl === ttl);
      const mine = data.heap.find((r) => r.subject === subject && r.ttl === ttl);
      out.push(
        check(
          `${subject} heap per entry ${ttl ? "with" : "without"} TTL <= 1.3x bound`,
          bound && mine ? mine.bytesPerEntry / bound.bytesPerEntry : undefined,
          (v) => v <= 1.3,
        ),
      );
    }
  }
  return out;
}

function redisChecks(data: RedisResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const ops = [...new Set(data.throughput.map((t) => t.op))];
  const pairs = data.subjects.filter((s) => s.name.startsWith("kv-redis") && s.baseline);
  for (const subject of pairs) {
    for (const op of ops) {
      const of = (name: string | undefined) =>
        data.throughput.find((t) => t.subject === name && t.op === op && t.concurrency === 100)
          ?.result?.opsPerSec;
      const mine = of(subject.name);
      const raw = of(subject.baseline);
      // An operation measured for other rows only (the cluster batches at one caller).
      if (mine === undefined && raw === undefined) continue;
      out.push(
        check(
          `${subject.name} ${op} at 100 callers >= 0.9x ${subject.baseline}`,
          mine && raw ? mine / raw : undefined,
          (v) => v >= 0.9,
        ),
      );
    }
  }
  for (const op of ["listAppendUnique", "listPopAll", "mset 100"]) {
    const rt = data.roundTrips.find((r) => r.subject === "kv-redis" && r.op === op);
    out.push(
      check(
        `kv-redis ${op}: one round trip`,
        rt?.roundTripsPerCall,
        (v) => v === 1,
        " round trips/call",
      ),
    );
  }
  return out;
}

/** The soak's targets: held <= 1.5x live, heap flat after warm-up, no stall over 10 ms from purging. */
function soakChecks(data: SoakResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const r of data.runs) {
    if (r.ttlsMs.length === 0) continue; // the baseline
    out.push(
      check(`soak ${r.label}: entries held <= 1.5x live`, r.worstHeldOverLive, (v) => v <= 1.5),
      check(
        `soak ${r.label}: heap at the end <= 1.5x heap at half time`,
        r.heapEndMiB / r.heapHalfMiB,
        (v) => v <= 1.5,
      ),
      check(
        `soak ${r.label}: longest purge slice <= 10 ms`,
        r.longestSliceMs,
        (v) => v <= 10,
        " ms",
      ),
    );
  }
  return out;
}

export function checkTargets(
  inprocess: InProcessResults | undefined,
  scaling: ScalingResults | undefined,
  redis: RedisResults | undefined,
  soak?: SoakResults,
): TargetCheck[] {
  return [
    ...(inprocess ? inProcessChecks(inprocess) : []),
    ...(scaling ? scalingChecks(scaling) : []),
    ...(soak ? soakChecks(soak) : []),
    ...(redis ? redisChecks(redis) : []),
  ];
}
