/**
 * One process of the near cache's two-process mix (`near-cache.ts`): 90 % reads and
 * 10 % writes on the shared keys, through its own `@kv/redis` client with a near cache.
 * Every value says who wrote it and when the write was acknowledged is recorded here; the
 * parent matches one process's acknowledged writes with the other's first read of them.
 *
 * argv: <redis url> <worker name> <seconds> <keys>. Prints one JSON line (`MixReport`).
 */
import { RedisBackend } from "@kv/redis";

export interface MixReport {
  worker: string;
  reads: number;
  writes: number;
  seconds: number;
  /** Per write: key index, sequence number, wall-clock ms when the write was acknowledged. */
  acked: [key: number, seq: number, at: number][];
  /** Per other writer's value first read here: key index, writer, sequence, wall-clock ms. */
  firstSeen: [key: number, writer: string, seq: number, at: number][];
}

interface Stamp {
  w: string;
  s: number;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const wallClock = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const [url, worker, secondsArg, keysArg] = process.argv.slice(2);
  const keyCount = Number(keysArg);
  const kv = new RedisBackend({ url: url!, nearCache: { max: 10_000 } });
  if (!(await kv.nearCacheReady(10_000))) throw new Error(`${worker}: near cache: no tracking`);
  const keys = Array.from({ length: keyCount }, (_, i) => `mix2:${i}`);
  const seen = new Map<string, number>(); // key index + writer → highest sequence seen
  const report: MixReport = {
    worker: worker!,
    reads: 0,
    writes: 0,
    seconds: 0,
    acked: [],
    firstSeen: [],
  };
  let seq = 0;
  const started = performance.now();
  const until = started + Number(secondsArg) * 1000;
  for (let op = 0; performance.now() < until; op++) {
    const k = (op * 7) % keyCount;
    if (op % 10 === 9) {
      const s = ++seq;
      await kv.set(keys[k]!, { w: worker!, s } satisfies Stamp);
      report.acked.push([k, s, wallClock()]);
      report.writes++;
    } else {
      const value = await kv.get<Stamp>(keys[k]!);
      report.reads++;
      if (value && value.w !== worker) {
        const id = `${k}/${value.w}`;
        if ((seen.get(id) ?? 0) < value.s) {
          seen.set(id, value.s);
          report.firstSeen.push([k, value.w, value.s, wallClock()]);
        }
      }
    }
  }
  report.seconds = (performance.now() - started) / 1000;
  await kv.close();
  // A pipe's write completes later: exit only once the report is out.
  await new Promise<void>((resolve) =>
    process.stdout.write(`${JSON.stringify(report)}\n`, () => resolve()),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
