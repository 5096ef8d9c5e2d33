import type { Registrar } from "./test-api.js";
import type { Capabilities, ConformanceOptions } from "./types.js";

/** What every group of tests is defined from: the caller's options, resolved once. */
export interface Suite {
  readonly options: ConformanceOptions;
  /** The capability manifest with every default filled in. */
  readonly caps: Required<Capabilities>;
  /** True when the backend reads time from the suite's manual clock. */
  readonly manual: boolean;
  /** Registers groups and tests with the caller's runner. */
  readonly t: Registrar;
  /** Reports a group of tests left out, once, with the reason (one console line). */
  leaveOut(what: string, reason: string): void;
}
