import type { Measurement } from "./measure.js";

/** The shapes written to results/*.json and read back by the report and the chart. */

export interface SubjectInfo {
  name: string;
  what: string;
  copies: boolean;
  copyNote: string;
  /** Op → how it is provided when not natively (emulated / missing, with why). */
  notes: Record<string, string>;
  /** The row this one's ratios are taken against (Redis rows: raw ioredis with the same settings). */
  baseline?: string;
}

export interface CellInfo {
  id: string;
  label: string;
}

export interface CellResult {
  cell: string;
  subject: string;
  /** Absent when the cell is empty: see `skipped` or `error`. */
  result?: Measurement;
  skipped?: string;
  error?: string;
}

export interface InProcessResults {
  bound: string;
  subjects: SubjectInfo[];
  cells: CellInfo[];
  results: CellResult[];
}

export interface PurgeResult {
  subject: string;
  liveKeys: number;
  /** Whether the live keys have TTLs too (so an expiry index holds them all). */
  liveTtl: boolean;
  /** Median time of one purgeExpired(1000) call, in ms. */
  msPerCall: number;
  removedPerCall: number;
}

export interface GetAtSizeResult {
  subject: string;
  keys: number;
  opsPerSec: number;
}

export interface HeapResult {
  subject: string;
  ttl: boolean;
  entries: number;
  bytesPerEntry: number;
}

/** scanPrefix at one store size (see src/suites/scan.ts). */
export interface ScanResult {
  subject: string;
  keys: number;
  /** The first scan of the store: builds the ordered index. */
  firstScanMs: number;
  /** A page of 100 from `""`, index built (median). */
  firstPageMs: number;
  /** A prefix matching one key (median), in µs. */
  narrowUs: number;
  /** Every key, pages of 1,000. */
  fullPagingMs: number;
  /** One plain pass over the keys of a Map of the same size, for scale. */
  passMs: number;
}

/** What the ordered index costs a set of a new key. */
export interface IndexCostResult {
  subject: string;
  keys: number;
  nsPerSetWithout: number;
  nsPerSetWith: number;
}

export interface ScalingResults {
  purge: PurgeResult[];
  getAtSize: GetAtSizeResult[];
  heap: HeapResult[];
  /** Absent in results written before the scan rows existed. */
  scan?: ScanResult[];
  indexCost?: IndexCostResult[];
  errors: string[];
}

/** One second of a soak run: entries held, live ones, heap after a full GC (MiB, the store's growth). */
export interface SoakSample {
  t: number;
  held: number;
  live: number;
  heapMiB: number;
}

export interface SoakRun {
  backend: string;
  label: string;
  rate: number;
  ttlsMs: number[];
  seconds: number;
  /** Sets per second the writer actually made. */
  achievedRate: number;
  samples: SoakSample[];
  /** The highest held ÷ live once warm (after the longest TTL and a second). */
  worstHeldOverLive: number;
  endHeldOverLive: number;
  /** Heap at half time and at the end (after a full GC, minus the heap before the store). */
  heapHalfMiB: number;
  heapEndMiB: number;
  /** Event-loop delay over the run (perf_hooks.monitorEventLoopDelay, forced GCs excluded). */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  /** The longest background purge slice. */
  longestSliceMs: number;
  /** Entries the background rounds removed (the rest went through writes that help). */
  purgedInBackground: number;
}

export interface SoakResults {
  runs: SoakRun[];
  errors: string[];
}

export interface RedisThroughput {
  subject: string;
  op: string;
  concurrency: number;
  result?: Measurement;
  error?: string;
}

export interface RoundTrips {
  subject: string;
  op: string;
  /** Commands the server ran per call, from INFO commandstats deltas: `{ evalsha: 1 }`. */
  commandsPerCall: Record<string, number>;
  /** Client→server round trips per call (sequential calls), counted on the client's socket. */
  roundTripsPerCall: number;
  /** Server time per call in µs, from commandstats usec deltas. */
  serverUsecPerCall?: number;
}

export interface RedisResults {
  server: string;
  pipelining: string;
  subjects: SubjectInfo[];
  throughput: RedisThroughput[];
  roundTrips: RoundTrips[];
  errors: string[];
}

export interface RunInfo {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  loadAverageAtStart: number[];
}

export interface SuiteFile<T> {
  run: RunInfo;
  data: T;
}
