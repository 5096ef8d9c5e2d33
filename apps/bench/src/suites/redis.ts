import { redisCommand, startRedis, startRedisCluster } from "@kv/redis-harness";
import { keyOf, listItem, listOf, smallValue } from "../data.js";
import { type BatchTask, measure, type Timing } from "../measure.js";
import { formatOps, progress } from "../progress.js";
import { CommandCounter } from "../redis/commandstats.js";
import { ioredisRaw } from "../redis/ioredis-raw.js";
import { keyvRedis } from "../redis/keyv-redis.js";
import { kvRedis, kvRedisStore } from "../redis/kv-redis.js";
import { countRoundTrips } from "../redis/round-trips.js";
import type { RedisStore, RedisSubject } from "../redis/types.js";
import type { RedisResults, RedisThroughput, RoundTrips, SubjectInfo } from "../results.js";

const SUBJECTS: readonly RedisSubject[] = [
  kvRedis(true),
  ioredisRaw(true),
  kvRedis(false),
  ioredisRaw(false),
  keyvRedis,
];

/**
 * Cluster batches: `@kv/redis` on a 3-master cluster against `@kv/redis` on one server,
 * both with their defaults, `mget`/`mset` of these many keys, one caller.
 */
const CLUSTER_SIZES = [100, 1000, 10_000] as const;
const CLUSTER_SUBJECT: SubjectInfo = {
  name: "cluster: kv-redis",
  what: "@kv/redis on a 3-master Redis Cluster (redis-cluster:// URL, its defaults); compared with @kv/redis on one server (the standalone row)",
  copies: true,
  copyNote:
    "one MGET, or one mset script, per hash slot; the slots of one master as one pipeline (one round trip per master)",
  notes: {},
  baseline: "standalone: kv-redis",
};
const STANDALONE_SUBJECT: SubjectInfo = {
  name: "standalone: kv-redis",
  what: "@kv/redis on one redis-server (the kv-redis row's store), for the cluster rows",
  copies: true,
  copyNote: "one MGET, or one mset script",
  notes: {},
};

const PREFILL = 10_000;
const BATCH_KEYS = 100;
const LIST_LENGTH = 10;
const CONCURRENCY = [1, 100] as const;
const ROUND_TRIP_CALLS = 50;

const value = smallValue(1);
const batchPairs = (b: number) =>
  Array.from(
    { length: BATCH_KEYS },
    (_, i) => [keyOf((b * BATCH_KEYS + i) % PREFILL), value] as const,
  );

/**
 * `callers` concurrent loops, each making `perCaller` awaited calls: one batch. With one
 * caller that is a program awaiting each call; with 100 it is a server handling 100
 * requests at once, where a client's pipelining and per-call overhead show.
 */
function concurrent(
  callers: number,
  perCaller: number,
  call: (caller: number, i: number) => Promise<unknown>,
  setup?: () => Promise<void>,
): BatchTask {
  return {
    batch: callers * perCaller,
    run: () =>
      Promise.all(
        Array.from({ length: callers }, async (_, c) => {
          for (let i = 0; i < perCaller; i++) await call(c, i);
        }),
      ),
    ...(setup ? { setup } : {}),
  };
}

type OpName = "get" | "set" | "mget 100" | "mset 100" | "listAppendUnique" | "listPopAll";
const OPS: readonly OpName[] = [
  "get",
  "set",
  "mget 100",
  "mset 100",
  "listAppendUnique",
  "listPopAll",
];

/** `tag` keeps each row's lists apart: the rows share one server and run side by side. */
function task(
  op: OpName,
  store: RedisStore,
  callers: number,
  perCaller: number,
  tag: string,
): BatchTask {
  const key = (c: number, i: number) => keyOf((c * 7919 + i * 104_729) % PREFILL);
  switch (op) {
    case "get":
      return concurrent(callers, perCaller, (c, i) => store.get(key(c, i)));
    case "set":
      return concurrent(callers, perCaller, (c, i) => store.set(key(c, i), value));
    case "mget 100": {
      const batches = Array.from({ length: 16 }, (_, b) => batchPairs(b).map(([k]) => k));
      return concurrent(callers, perCaller, (c, i) => store.mget(batches[(c + i) % 16]!));
    }
    case "mset 100": {
      const prepared = Array.from({ length: 16 }, (_, b) => store.prepareMset(batchPairs(b)));
      return concurrent(callers, perCaller, (c, i) => store.mset(prepared[(c + i) % 16]));
    }
    case "listAppendUnique": {
      // Every call appends one new item to a list of LIST_LENGTH, its own: the lists are
      // reset (untimed) before each batch so they do not grow.
      const base = listOf(LIST_LENGTH);
      const fresh = [listItem(1_000_000)];
      const listKey = (c: number, i: number) => `${tag}:list:${c}:${i}`;
      return concurrent(
        callers,
        perCaller,
        (c, i) => store.listAppendUnique(listKey(c, i), fresh),
        async () => {
          await Promise.all(
            Array.from({ length: callers }, async (_, c) => {
              for (let i = 0; i < perCaller; i++) await store.set(listKey(c, i), base);
            }),
          );
        },
      );
    }
    case "listPopAll": {
      // Every call pops a list of LIST_LENGTH items, its own: written back (untimed)
      // before each batch.
      const base = listOf(LIST_LENGTH);
      const inboxKey = (c: number, i: number) => `${tag}:inbox:${c}:${i}`;
      return concurrent(
        callers,
        perCaller,
        (c, i) => store.listPopAll(inboxKey(c, i)),
        async () => {
          await Promise.all(
            Array.from({ length: callers }, async (_, c) => {
              for (let i = 0; i < perCaller; i++) await store.set(inboxKey(c, i), base);
            }),
          );
        },
      );
    }
  }
}

/**
 * mget/mset of `CLUSTER_SIZES` keys, one caller, on `store` (standalone or cluster): ops/s
 * are batches per second (one call each), so the ratio cluster ÷ standalone is the
 * inverse of the time ratio.
 */
async function clusterCells(
  rows: readonly (readonly [string, RedisStore])[],
  timing: Timing,
  quick: boolean,
): Promise<RedisThroughput[]> {
  const out: RedisThroughput[] = [];
  for (const size of CLUSTER_SIZES) {
    const pairs = Array.from(
      { length: size },
      (_, i) => [`batch:${size}:${keyOf(i)}`, value] as const,
    );
    const keys = pairs.map(([k]) => k);
    const calls = quick ? Math.max(1, 2000 / size) : Math.max(2, 20_000 / size);
    // The rows of a cell side by side (see runRedis).
    for (const kind of ["mget", "mset"] as const) {
      for (const [name, store] of rows) {
        const prepared = store.prepareMset(pairs);
        if (kind === "mget") await store.mset(prepared);
        const op = `${kind} ${size}`;
        const call = kind === "mget" ? () => store.mget(keys) : () => store.mset(prepared);
        const row: RedisThroughput = { subject: name, op, concurrency: 1 };
        try {
          row.result = await measure(`${name} ${op}`, concurrent(1, calls, call), timing);
          progress(
            `redis ${op.padEnd(17)}   1 caller(s) ${name.padEnd(30)} ${formatOps(row.result.opsPerSec)} ops/s (${(1000 / row.result.opsPerSec).toFixed(2)} ms/call)`,
          );
        } catch (err) {
          row.error = (err as Error).message;
          progress(`redis ${op} 1 ${name}: ERROR ${row.error}`);
        }
        out.push(row);
      }
    }
  }
  return out;
}

async function prefill(store: RedisStore): Promise<void> {
  for (let b = 0; b < PREFILL / BATCH_KEYS; b++) {
    await store.mset(store.prepareMset(batchPairs(b)));
  }
}

interface Probe {
  op: string;
  call(): Promise<unknown>;
  /** Untimed, uncounted set-up before each call (listPopAll needs a list to pop). */
  refill?(): Promise<void>;
}

/** The calls whose round trips are counted. */
function probes(store: RedisStore, tag: string): Probe[] {
  const prepared = store.prepareMset(batchPairs(0));
  const keys = batchPairs(1).map(([k]) => k);
  const inbox = listOf(LIST_LENGTH);
  let n = 0;
  return [
    { op: "get", call: () => store.get(keyOf(1)) },
    { op: "set", call: () => store.set(keyOf(1), value) },
    { op: "set ttl", call: () => store.setTtl(keyOf(1), value, 3600) },
    { op: "mget 100", call: () => store.mget(keys) },
    { op: "mset 100", call: () => store.mset(prepared) },
    { op: "mset 100 ttl", call: () => store.msetTtl(prepared, 3600) },
    {
      op: "listAppendUnique",
      call: () => store.listAppendUnique(`${tag}:rt:list`, [listItem(n++)]),
    },
    {
      op: "listPopAll",
      call: () => store.listPopAll(`${tag}:rt:inbox`),
      refill: () => store.set(`${tag}:rt:inbox`, inbox),
    },
  ];
}

/**
 * Round trips (counted on the client's socket) and server commands (INFO commandstats
 * deltas) per call, over ROUND_TRIP_CALLS calls made one after another, after a warm-up
 * call that lets a script be loaded (a first EVALSHA may answer NOSCRIPT).
 */
async function roundTripsOf(
  subject: RedisSubject,
  store: RedisStore,
  port: number,
): Promise<RoundTrips[]> {
  const out: RoundTrips[] = [];
  const counter = new CommandCounter(port);
  for (const probe of probes(store, String(SUBJECTS.indexOf(subject)))) {
    await probe.refill?.();
    await probe.call();
    let trips = 0;
    const commands: Record<string, number> = {};
    let usec = 0;
    // With a refill, the server's counts are read around each call, so the refill's SET
    // stays out of them; without, once around all the calls.
    const rounds = probe.refill ? ROUND_TRIP_CALLS : 1;
    const callsPerRound = ROUND_TRIP_CALLS / rounds;
    for (let r = 0; r < rounds; r++) {
      await probe.refill?.();
      await counter.reset();
      for (let i = 0; i < callsPerRound; i++) {
        trips += await countRoundTrips(port, async () => {
          await probe.call();
        });
      }
      const d = await counter.delta(ROUND_TRIP_CALLS);
      for (const [cmd, n] of Object.entries(d.commandsPerCall))
        commands[cmd] = (commands[cmd] ?? 0) + n;
      usec += d.serverUsecPerCall;
    }
    out.push({
      subject: subject.name,
      op: probe.op,
      commandsPerCall: commands,
      roundTripsPerCall: trips / ROUND_TRIP_CALLS,
      serverUsecPerCall: usec,
    });
  }
  return out;
}

function info(subject: RedisSubject): SubjectInfo {
  return {
    name: subject.name,
    what: subject.what,
    copies: true,
    copyNote: subject.commands,
    notes: {},
    ...(subject.baseline ? { baseline: subject.baseline } : {}),
  };
}

export async function runRedis(timing: Timing, quick: boolean): Promise<RedisResults> {
  const server = await startRedis();
  const version = await redisCommand(server.port, "INFO", "server");
  const redisVersion = /redis_version:(\S+)/.exec(String(version))?.[1] ?? "unknown";
  progress(`redis: started redis-server ${redisVersion} on ${server.url} (pid ${server.pid})`);
  const out: RedisResults = {
    server: `redis-server ${redisVersion}, loopback, started by the bench (no persistence)`,
    pipelining:
      "rows come in pairs with the same ioredis pipelining setting: the ioredis default (none), and enableAutoPipelining: true; node-redis (keyv-redis) always pipelines",
    subjects: SUBJECTS.map(info),
    throughput: [],
    roundTrips: [],
    errors: [],
  };
  // Every row is open at once, and each cell runs the rows one after another (in turn
  // reversed from cell to cell): a sequential call is a loopback round trip, whose time
  // swings with what the machine's other processes do (a busy neighbour keeps the cores
  // awake and shortens wake-ups), so rows measured minutes apart are not comparable.
  // kv-redis and raw ioredis read and write the same keys with the same JSON; keyv-redis
  // has its own keys (its namespace) and format.
  const open: { subject: RedisSubject; store: RedisStore }[] = [];
  try {
    await redisCommand(server.port, "FLUSHALL");
    for (const subject of SUBJECTS) {
      try {
        const store = await subject.create(server.url);
        open.push({ subject, store });
        await prefill(store);
        out.roundTrips.push(...(await roundTripsOf(subject, store, server.port)));
      } catch (err) {
        out.errors.push(`${subject.name}: ${(err as Error).message}`);
        progress(`redis ${subject.name}: ERROR ${(err as Error).message}`);
      }
    }
    let cell = 0;
    for (const callers of CONCURRENCY) {
      // Long enough at 100 callers for them to fall out of step, as the callers of a
      // running service are: with 10 calls each, every batch began with 100 calls made in
      // one tick and paced by full round trips, a burst that measured start-up as much as
      // throughput (plain SET hardly noticed; a write costing the server 7 µs did).
      const perCaller = callers === 1 ? (quick ? 50 : 200) : quick ? 2 : 100;
      for (const op of OPS) {
        const order = cell++ % 2 === 0 ? open : [...open].reverse();
        for (const { subject, store } of order) {
          const row: RedisThroughput = { subject: subject.name, op, concurrency: callers };
          try {
            const tag = String(SUBJECTS.indexOf(subject));
            row.result = await measure(
              `${subject.name} ${op}`,
              task(op, store, callers, perCaller, tag),
              timing,
            );
            progress(
              `redis ${op.padEnd(17)} ${String(callers).padStart(3)} caller(s) ${subject.name.padEnd(30)} ${formatOps(row.result.opsPerSec)} ops/s`,
            );
          } catch (err) {
            row.error = (err as Error).message;
            progress(`redis ${op} ${callers} ${subject.name}: ERROR ${row.error}`);
          }
          out.throughput.push(row);
        }
      }
    }
    // Cluster batches against the same batches on the standalone server, measured in turn.
    const standalone = open.find((o) => o.subject.name === "kv-redis");
    if (standalone) {
      let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined;
      let clustered: RedisStore | undefined;
      try {
        cluster = await startRedisCluster();
        progress(`redis: started a 3-master cluster (${cluster.url})`);
        clustered = await kvRedisStore(cluster.url);
        out.subjects.push(STANDALONE_SUBJECT, CLUSTER_SUBJECT);
        out.throughput.push(
          ...(await clusterCells(
            [
              [STANDALONE_SUBJECT.name, standalone.store],
              [CLUSTER_SUBJECT.name, clustered],
            ],
            timing,
            quick,
          )),
        );
      } catch (err) {
        out.errors.push(`cluster: ${(err as Error).message}`);
        progress(`redis cluster: ERROR ${(err as Error).message}`);
      } finally {
        await clustered?.close().catch(() => undefined);
        await cluster?.stop();
      }
    }
  } finally {
    for (const { store } of open) await store.close().catch(() => undefined);
    await server.stop();
    progress(`redis: stopped redis-server (pid ${server.pid})`);
  }
  return out;
}
