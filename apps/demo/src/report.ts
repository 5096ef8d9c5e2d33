import { inspect, isDeepStrictEqual } from "node:util";
import { isKVError } from "@kv/core";

/**
 * Prints the demo's steps and checks its expectations. A failed check prints what was
 * expected and what came back, and makes the process exit non-zero at the end; the
 * demo carries on, so one run shows every failure.
 */
export class Report {
  #failures = 0;

  get failures(): number {
    return this.#failures;
  }

  section(title: string): void {
    console.log(`\n${title}`);
  }

  /** A step of the story: what the program does next. */
  step(text: string): void {
    console.log(`  · ${text}`);
  }

  /** Checks that `actual` deep-equals `expected`. */
  equal(label: string, actual: unknown, expected: unknown): void {
    this.that(
      label,
      isDeepStrictEqual(actual, expected),
      `expected ${show(expected)}, got ${show(actual)}`,
    );
  }

  /** Checks a condition; `detail` says what was seen when it fails. */
  that(label: string, ok: boolean, detail = ""): void {
    if (ok) {
      console.log(`  ✔ ${label}`);
    } else {
      this.#failures++;
      console.log(`  ✘ ${label}${detail === "" ? "" : `: ${detail}`}`);
    }
  }
}

export function show(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY });
}

/** A KVError as `CODE: message` (it says all there is to say); anything else with its stack. */
export function describeError(err: unknown): string {
  if (isKVError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
