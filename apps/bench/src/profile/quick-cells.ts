/**
 * A few in-process cells on a few rows, interleaved and repeated, for a quick before/after
 * on a busy machine (not part of `pnpm bench`):
 *
 *   node --expose-gc --import tsx src/profile/quick-cells.ts <cell ids> [rounds] [rows]
 */
import { collectGarbage, measure } from "../measure.js";
import { IN_PROCESS_SUBJECTS } from "../subjects/index.js";
import { CELLS } from "../suites/cells.js";
import { prefill, workload } from "../suites/workloads.js";

const ids = (process.argv[2] ?? "set/small").split(",");
const rounds = Number(process.argv[3] ?? 3);
const rows = (process.argv[4] ?? "bound-json,kv-memory,kv-lru,lru-cache-json").split(",");
const timing = { time: 400, warmupTime: 100, iterations: 16, warmupIterations: 4 };

for (const id of ids) {
  const cell = CELLS.find((c) => c.id === id);
  if (!cell) throw new Error(`no cell ${id}`);
  const ratios = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    let bound = 0;
    for (const name of rows) {
      const subject = IN_PROCESS_SUBJECTS.find((s) => s.name === name)!;
      collectGarbage();
      const store = await subject.create();
      await prefill(store, cell);
      const m = await measure(name, workload(cell, store), timing);
      await store.close();
      if (name === "bound-json") bound = m.opsPerSec;
      const list = ratios.get(name) ?? [];
      list.push(m.opsPerSec / bound);
      ratios.set(name, list);
    }
  }
  for (const [name, list] of ratios) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `${id} ${name.padEnd(15)} median ${sorted[sorted.length >> 1]!.toFixed(2)}x  (${list.map((x) => x.toFixed(2)).join(" ")})`,
    );
  }
}
process.exit(0);
