import { Bench } from "tinybench";

/** How long tinybench spends on each cell. */
export interface Timing {
  /** Time budget per cell in ms (tinybench keeps going until both this and `iterations` are met). */
  time: number;
  warmupTime: number;
  /** Minimum measured batches per cell. */
  iterations: number;
  warmupIterations: number;
}

export const FULL_TIMING: Timing = {
  time: 1000,
  warmupTime: 250,
  iterations: 16,
  warmupIterations: 4,
};
export const QUICK_TIMING: Timing = {
  time: 50,
  warmupTime: 15,
  iterations: 4,
  warmupIterations: 1,
};

export interface Measurement {
  /** Calls per second, from the median batch: robust to a busy neighbour on a shared machine. */
  opsPerSec: number;
  /** Calls per second from the mean batch time, for comparison. */
  meanOpsPerSec: number;
  /** Relative margin of error of the mean batch time, in percent. */
  rme: number;
  /** Measured batches. */
  samples: number;
  /** Calls per batch. */
  batch: number;
}

export interface BatchTask {
  /** Awaited calls made by one `run()`. */
  batch: number;
  /** One batch: `batch` calls, each awaited before the next. */
  run(): Promise<unknown>;
  /** Untimed work before each batch, e.g. recreating the keys a batch of deletes removes. */
  setup?(): Promise<void>;
}

/**
 * Times a task in batches. One call of an in-process store takes about a microsecond,
 * close to the cost of reading the timer and of tinybench's own await; timing a batch
 * of calls and dividing keeps both out of the figure. The batch's calls are awaited one
 * after another, as a program awaits them.
 *
 * A task with `setup` runs it inside tinybench's function but outside the timed span
 * (`overriddenDuration`), and declares the whole iteration as its cost to the time
 * budget (`overriddenIterationCost`). With a `beforeEach` hook instead, the budget would
 * count only the timed span: a batch of 256 deletes takes 20 µs and its refill 2 ms, so
 * a 1 s budget would mean 50,000 refills, minutes per cell.
 */
export async function measure(name: string, task: BatchTask, timing: Timing): Promise<Measurement> {
  const bench = new Bench({ ...timing, throws: true });
  const setup = task.setup;
  const fn = setup
    ? async () => {
        const t0 = performance.now();
        await setup.call(task);
        const t1 = performance.now();
        await task.run();
        const t2 = performance.now();
        return { overriddenDuration: t2 - t1, overriddenIterationCost: t2 - t0 };
      }
    : () => task.run();
  bench.add(name, fn, { async: true });
  const [done] = await bench.run();
  const result = done?.result;
  if (result === undefined || !("latency" in result)) {
    throw new Error(`${name}: tinybench produced no result (${result?.state ?? "no task"})`);
  }
  const { latency } = result;
  return {
    opsPerSec: (task.batch * 1000) / latency.p50,
    meanOpsPerSec: (task.batch * 1000) / latency.mean,
    rme: latency.rme,
    samples: latency.samplesCount,
    batch: task.batch,
  };
}

/** Collects garbage between cells (the bench runs with --expose-gc), so one cell's garbage is not the next one's pause. */
export function collectGarbage(): void {
  globalThis.gc?.();
}
