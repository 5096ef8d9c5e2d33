import { collectGarbage, measure, type Timing } from "../measure.js";
import { formatOps, progress } from "../progress.js";
import type { CellResult, InProcessResults, SubjectInfo } from "../results.js";
import { BOUND, IN_PROCESS_SUBJECTS } from "../subjects/index.js";
import { type Store, type Subject, supportOf } from "../subjects/types.js";
import { CELLS, type CellSpec } from "./cells.js";
import { prefill, workload } from "./workloads.js";

export function subjectInfo(subject: Subject): SubjectInfo {
  const notes: Record<string, string> = {};
  for (const [op, support] of Object.entries(subject.support)) {
    if (support.note !== undefined) notes[op] = `${support.kind}: ${support.note}`;
  }
  return {
    name: subject.name,
    what: subject.what,
    copies: subject.copies,
    copyNote: subject.copyNote,
    notes,
  };
}

async function runCell(cell: CellSpec, subject: Subject, timing: Timing): Promise<CellResult> {
  const support = supportOf(subject, cell.op);
  if (support.kind === "missing")
    return { cell: cell.id, subject: subject.name, skipped: support.note };
  let store: Store | undefined;
  try {
    collectGarbage();
    store = await subject.create();
    await prefill(store, cell);
    const result = await measure(`${subject.name} ${cell.id}`, workload(cell, store), timing);
    return { cell: cell.id, subject: subject.name, result };
  } catch (err) {
    return { cell: cell.id, subject: subject.name, error: (err as Error).message };
  } finally {
    await store?.close();
  }
}

/**
 * Every cell on every subject, each on a fresh store. Cells are the outer loop so the
 * subjects of one cell run close together in time: a burst of load from a neighbour on
 * a shared machine then skews a whole column less than it would skew one row.
 */
export async function runInProcess(timing: Timing): Promise<InProcessResults> {
  const results: CellResult[] = [];
  const total = CELLS.length * IN_PROCESS_SUBJECTS.length;
  let n = 0;
  for (const cell of CELLS) {
    let bound: number | undefined;
    for (const subject of IN_PROCESS_SUBJECTS) {
      const cellResult = await runCell(cell, subject, timing);
      results.push(cellResult);
      n++;
      const ops = cellResult.result?.opsPerSec;
      if (subject.name === BOUND) bound = ops;
      const shown =
        ops !== undefined
          ? `${formatOps(ops)} ops/s${bound ? ` (${(ops / bound).toFixed(2)}x bound)` : ""}`
          : cellResult.error !== undefined
            ? `ERROR ${cellResult.error}`
            : "skipped";
      progress(
        `inprocess ${n}/${total} ${cell.label.padEnd(32)} ${subject.name.padEnd(15)} ${shown}`,
      );
    }
  }
  return {
    bound: BOUND,
    subjects: IN_PROCESS_SUBJECTS.map(subjectInfo),
    cells: CELLS.map(({ id, label }) => ({ id, label })),
    results,
  };
}
