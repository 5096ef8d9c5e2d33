/**
 * Progress on stderr while a run goes on (it takes minutes); stdout stays free for the
 * final summary. One line per measured cell, prefixed with the time since start.
 */
const started = performance.now();

function stamp(): string {
  const s = Math.round((performance.now() - started) / 1000);
  return `[${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}]`;
}

export function progress(line: string): void {
  process.stderr.write(`${stamp()} ${line}\n`);
}

export function formatOps(opsPerSec: number): string {
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)}M`;
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toFixed(1)}k`;
  return opsPerSec.toFixed(opsPerSec >= 100 ? 0 : 1);
}
