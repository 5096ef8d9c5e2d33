import { redisCommand } from "@kv/redis-harness";

export interface CommandStat {
  calls: number;
  /** Server time spent in the command, in microseconds. */
  usec: number;
}

/** `cmdstat_<name>:calls=N,usec=M,...` lines of `INFO commandstats`. */
export function parseCommandStats(info: string): Map<string, CommandStat> {
  const stats = new Map<string, CommandStat>();
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

/**
 * Commands that run others (a script, a transaction): the server time of a call is
 * theirs, since commandstats counts the commands they run a second time on their own.
 */
const WRAPPERS = new Set(["evalsha", "eval", "multi", "exec"]);

export interface CommandDelta {
  /** Commands per call, biggest first. */
  commandsPerCall: Record<string, number>;
  /** Server time per call in µs (commands run by a script or a transaction not counted twice). */
  serverUsecPerCall: number;
}

/**
 * Commands the server ran, per command, since the last call. Read over a connection of
 * its own (the harness's one-shot RESP client), and the INFO that reads them is left
 * out, so the counts are the code under test's commands and nothing else.
 */
export class CommandCounter {
  #last = new Map<string, CommandStat>();

  constructor(readonly port: number) {}

  async #read(): Promise<Map<string, CommandStat>> {
    const info = await redisCommand(this.port, "INFO", "commandstats");
    if (typeof info !== "string") throw new Error("INFO commandstats: unexpected reply");
    return parseCommandStats(info);
  }

  async reset(): Promise<void> {
    this.#last = await this.#read();
  }

  /** What the server ran since the last `reset`/`delta`, divided by `calls`. */
  async delta(calls: number): Promise<CommandDelta> {
    const now = await this.#read();
    const counts: [string, number][] = [];
    let usec = 0;
    let wrappedUsec = 0;
    let wrapped = false;
    for (const [name, stat] of now) {
      if (name === "info") continue;
      const before = this.#last.get(name) ?? { calls: 0, usec: 0 };
      const d = stat.calls - before.calls;
      if (d <= 0) continue;
      counts.push([name, d / calls]);
      usec += stat.usec - before.usec;
      if (WRAPPERS.has(name)) {
        wrapped = true;
        wrappedUsec += stat.usec - before.usec;
      }
    }
    this.#last = now;
    counts.sort((a, b) => b[1] - a[1]);
    return {
      commandsPerCall: Object.fromEntries(counts),
      serverUsecPerCall: (wrapped ? wrappedUsec : usec) / calls,
    };
  }
}
