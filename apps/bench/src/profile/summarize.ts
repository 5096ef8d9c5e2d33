/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`): the functions with the most self time
 * and the most total (inclusive) time, as a share of the sampled time.
 *
 *   node --import tsx src/profile/summarize.ts profiles/*.cpuprofile [--top=25] [--filter=text]
 *
 * `--filter` keeps only the frames whose function name or file contains the text in the
 * "total" table (e.g. `--filter=lru-backend`).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? basename(url.replace(/\?.*$/, "")) : "";
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
}

function summarize(path: string, top: number, filter: string | undefined): void {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    let id: number | undefined = profile.samples[i]!;
    const leaf = byId.get(id)!;
    self.set(frameName(leaf), (self.get(frameName(leaf)) ?? 0) + dt);
    // Each function once per sample, however deep the recursion.
    const seen = new Set<string>();
    while (id !== undefined) {
      const name = frameName(byId.get(id)!);
      if (!seen.has(name)) {
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  const pct = (us: number) => `${((100 * us) / all).toFixed(1).padStart(5)}%`;
  const print = (title: string, map: Map<string, number>, keep: (name: string) => boolean) => {
    console.log(`\n${title}`);
    for (const [name, us] of [...map]
      .filter(([n]) => keep(n))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)) {
      console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
    }
  };
  console.log(`${path}: ${(all / 1000).toFixed(0)} ms sampled`);
  print("self time", self, () => true);
  print("total time", total, (n) => (filter ? n.includes(filter) : true));
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith("--top="))?.slice(6) ?? 25);
const filter = args.find((a) => a.startsWith("--filter="))?.slice(9);
for (const path of args.filter((a) => !a.startsWith("--"))) summarize(path, top, filter);
