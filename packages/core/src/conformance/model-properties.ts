import fc from "fast-check";
import { ManualClock } from "../clock.js";
import { isKVError } from "../errors.js";
import type { KVBackend } from "../types.js";
import { expect } from "./assert.js";
import { type Expected, ReferenceModel } from "./reference-model.js";
import type { ModelProperty } from "./types.js";

/*
 * The model-based test: fast-check generates random sequences of every KVBackend
 * operation (invalid calls and clock moves included), runs each against a fresh backend
 * and against ReferenceModel, and compares every answer. A divergence fails with the
 * shrunk sequence, printed as the calls that reproduce it (`kv.set("a", 1)`, ...).
 *
 * Collisions are what find bugs, so everything is drawn from small pools: six keys that
 * share prefixes, a handful of ids (`1` and `"1"` among them), TTLs and clock steps on
 * a grid of whole milliseconds so that deadlines are hit exactly, values around a
 * 200-byte `maxValueBytes`.
 */

/** Small enough that values straddle it; big enough for short lists. */
const MAX_VALUE_BYTES = 200;
/** The manual clock starts epoch-like, not at 0, so a `0` deadline sentinel would show. */
const START_MS = 1_700_000_000_000;
/** Real clock: how far below the model's upper bound `ttl()` may be (a slow machine). */
const REAL_TTL_SLACK_S = 3;
/** Real clock: rounding of a server's whole-millisecond TTL. */
const REAL_TTL_ROUNDING_S = 0.002;

/**
 * TTLs (s) that, with the clock steps below, land exactly on deadlines;
 * 0.009000000000000001 is 9 ms under SPEC v2's rounding (binary noise forgiven).
 */
const MANUAL_TTLS = [0.001, 0.0015, 0.002, 0.003, 0.0049, 0.005, 0.009000000000000001, 0.01, 1];
const CLOCK_STEPS = [1, 2, 3, 5, 10];
/** Real clock: TTLs that outlast a run, so nothing expires while it runs. */
const REAL_TTLS = [60, 90.5, 300, 600];
const BAD_TTLS: unknown[] = [0, -1, -0.0001, Number.NaN, Number.POSITIVE_INFINITY, "1"];

// --- arguments ------------------------------------------------------------------------

/**
 * An argument, built anew for every use: the same generated sequence is replayed while
 * shrinking, and the test mutates what it passed after each call (stored by value).
 */
interface Fresh<T = unknown> {
  readonly label: string;
  make(): T;
}

function fresh<T>(make: () => T, label = fc.stringify(make())): Fresh<T> {
  return { label, make };
}

const show = (value: unknown): string => fc.stringify(value);

const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("a", "ab", "b") },
  { weight: 5, arbitrary: fc.constantFrom("a*", "a:b", "__proto__", "😀", "ｚ") },
  { weight: 1, arbitrary: fc.constantFrom("", "\uD800") },
);

function cyclic(): unknown {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

const jsonTexts = [
  "null",
  "true",
  "0",
  "1",
  "41",
  "-7",
  "1.5",
  String(Number.MAX_SAFE_INTEGER),
  String(-Number.MAX_SAFE_INTEGER),
  "9007199254740992",
  '"s"',
  '"1"',
  '""',
  "[]",
  '[{"id":1}]',
  '[{"id":"1"},{"id":2,"n":1}]',
  '[1,"x",null,{"id":null},{"k":1},[{"id":2}],{"id":"2","k":"1"}]',
  '{"id":1}',
  '{"a":{"b":[1,2]}}',
  '{"__proto__":{"x":1}}',
];

const valueArb: fc.Arbitrary<Fresh> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(...jsonTexts.map((text) => fresh(() => JSON.parse(text), text))),
  },
  {
    // Written as JSON makes them: Date as its ISO string, NaN as null, holes dropped.
    weight: 1,
    arbitrary: fc.constantFrom(
      fresh(() => new Date(0)),
      fresh(() => Number.NaN),
      fresh(
        () => ({ a: undefined, b: [undefined, 1], f: () => 1 }),
        "{a: undefined, b: [undefined, 1], f: () => 1}",
      ),
    ),
  },
  {
    // Around MAX_VALUE_BYTES of UTF-8 JSON: 1-, 2- and 4-byte characters.
    weight: 2,
    arbitrary: fc.constantFrom(
      ...(
        [
          ["x", 198],
          ["x", 199],
          ["é", 99],
          ["é", 100],
          ["😀", 49],
          ["😀", 50],
        ] as const
      ).map(([unit, count]) => fresh(() => unit.repeat(count), `"${unit}".repeat(${count})`)),
      fresh(() => ["y".repeat(196)], '["y".repeat(196)]'),
      fresh(() => ["y".repeat(197)], '["y".repeat(197)]'),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Fresh>(
      fresh(() => undefined),
      fresh(() => () => 1, "() => 1"),
      fresh(() => Symbol("s"), 'Symbol("s")'),
      fresh(() => 1n),
      fresh(() => ({ n: 1n })),
      fresh(cyclic, "{a: 1, self: <cycle>}"),
    ),
  },
);

const defaultArb: fc.Arbitrary<Fresh | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      fresh(() => "fallback"),
      fresh(() => null),
      fresh(() => 0),
      fresh(() => ({ d: [1] })),
    ),
  },
);

function ttlSecondsArb(grid: number[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...grid) },
    { weight: 1, arbitrary: fc.constantFrom(...BAD_TTLS) },
  );
}

/** An options bag with a TTL, `{}`, or no argument at all (`undefined`). */
function ttlOptionsArb(grid: number[]): fc.Arbitrary<Fresh | undefined> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(fresh(() => ({}))) },
    { weight: 5, arbitrary: ttlSecondsArb(grid).map((s) => fresh(() => ({ ttlSeconds: s }))) },
  );
}

const ids: (string | number)[] = [1, "1", 2, "2", "a", 1.5, 0];

/** List items whose id sits in `field` (the call's idKey), and some that are invalid. */
function itemArb(field: string): fc.Arbitrary<Fresh> {
  const valid = fc
    .record({ id: fc.constantFrom(...ids), n: fc.option(fc.nat(2), { nil: undefined }) })
    .map(({ id, n }) => fresh(() => (n === undefined ? { [field]: id } : { [field]: id, n })));
  const odd = fc.constantFrom<Fresh>(
    // valid, though unusual
    fresh(() => Object.assign(Object.create(null), { [field]: 4 }), `nullProto({${field}: 4})`),
    fresh(() => ({ [field]: 5, u: undefined })),
    fresh(() => ({ [field]: "L", s: "x".repeat(150) }), `{${field}: "L", s: "x".repeat(150)}`),
    // invalid
    fresh(() => ({ [field]: null })),
    fresh(() => ({ [field]: true })),
    fresh(() => ({ [field]: Number.NaN })),
    fresh(() => ({ [field]: Number.POSITIVE_INFINITY })),
    fresh(() => ({ [field]: {} })),
    fresh(() => ({ n: 1 })),
    fresh(() => 7),
    fresh(() => "x"),
    fresh(() => null),
    fresh(() => [{ [field]: 1 }]),
    fresh(
      () => Object.assign(new Date(0), { [field]: 9 }),
      `Object.assign(new Date(0), {${field}: 9})`,
    ),
    fresh(() => ({ [field]: 3, big: 1n })),
  );
  return fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: odd });
}

const idKeyArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom("id", "k") },
  { weight: 1, arbitrary: fc.constant(5) },
);

const amountArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(1, -1, 0, 7, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "1"),
  },
);

const limitArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(undefined, 1, 2, 3, 1000) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, Number.NaN) },
);

const prefixArb = fc.constantFrom("", "a", "ab", "a*", "a:", "b", "_", "*", "😀");
const afterArb = fc.constantFrom(undefined, "", "a", "a*", "ab", "b", "😀", "ｚ");

// --- comparing ------------------------------------------------------------------------

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

async function settle(call: () => Promise<unknown>): Promise<Settled> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(error: unknown): string {
  return isKVError(error) ? `${error.code} (${error.message})` : `a non-KVError: ${String(error)}`;
}

/** Throws, naming the call, when the backend's answer is not the model's. */
function assertOutcome(label: string, actual: Settled, expected: Expected): void {
  if ("fail" in expected) {
    const codes = expected.fail.join(" or ");
    if (actual.ok) {
      throw new Error(`${label}: expected a rejection with ${codes}, got ${show(actual.value)}`);
    }
    if (!isKVError(actual.error) || !expected.fail.includes(actual.error.code)) {
      throw new Error(`${label}: expected ${codes}, got ${describeError(actual.error)}`, {
        cause: actual.error,
      });
    }
    return;
  }
  if (!actual.ok) {
    throw new Error(`${label}: expected ${show(expected.ok)}, got ${describeError(actual.error)}`, {
      cause: actual.error,
    });
  }
  // toStrictEqual tells a hole from `undefined` but prints both alike: name it instead.
  const { value } = actual;
  if (Array.isArray(value)) {
    const hole = value.findIndex((_, i) => !(i in value));
    if (hole >= 0) {
      throw new Error(
        `${label}: returned a sparse array (a hole at index ${hole}, which forEach and map skip); SPEC.md asks for one slot per key`,
      );
    }
  }
  expect(value, label).toStrictEqual(expected.ok);
}

/**
 * Mutates what was passed to or returned by the backend. A backend that keeps references
 * instead of copies (SPEC.md "Stored by value") then answers a later read wrongly.
 */
function scribble(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  if (Array.isArray(value)) {
    for (const element of value) scribble(element);
    value.push("scribbled");
    return;
  }
  (value as Record<string, unknown>).scribbled = true;
}

// --- commands -------------------------------------------------------------------------

interface Harness {
  backend: KVBackend;
  clock: ManualClock | undefined;
  exactPurge: boolean;
}

class Step implements fc.AsyncCommand<ReferenceModel, Harness> {
  constructor(
    readonly label: string,
    readonly body: (model: ReferenceModel, harness: Harness) => Promise<void>,
  ) {}

  check(): boolean {
    return true; // every call is valid in every state: invalid calls are part of the test
  }

  run(model: ReferenceModel, harness: Harness): Promise<void> {
    return this.body(model, harness);
  }

  toString(): string {
    return this.label;
  }
}

/** `kv.method(arg, ...)` as code, dropping trailing arguments that were left out. */
function callLabel(method: string, ...args: (string | undefined)[]): string {
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return `kv.${method}(${args.map((a) => a ?? "undefined").join(", ")})`;
}

/**
 * The usual step: build the arguments twice (the backend's and the model's copies),
 * call the backend, ask the model, compare, then scribble over everything handed out.
 */
function callStep<A>(
  label: string,
  build: () => A,
  call: (backend: KVBackend, args: A) => Promise<unknown>,
  model: (model: ReferenceModel, args: A) => Expected,
  handedOut: (args: A) => unknown[] = () => [],
): Step {
  return new Step(label, async (reference, { backend }) => {
    const args = build();
    const actual = await settle(() => call(backend, args));
    reference.wallNow = performance.now();
    assertOutcome(label, actual, model(reference, build()));
    for (const value of handedOut(args)) scribble(value);
    if (actual.ok) scribble(actual.value);
  });
}

function getStep([key, fallback]: [string, Fresh | undefined]): Step {
  return callStep(
    callLabel("get", show(key), fallback?.label),
    () => fallback?.make(),
    (kv, d) => (fallback === undefined ? kv.get(key) : kv.get(key, d)),
    (m, d) => m.get(key, d),
  );
}

function setStep([key, value, options]: [string, Fresh, Fresh | undefined]): Step {
  return callStep(
    callLabel("set", show(key), value.label, options?.label),
    () => [value.make(), options?.make()] as const,
    (kv, [v, o]) =>
      o === undefined ? kv.set(key, v as never) : kv.set(key, v as never, o as never),
    (m, [v, o]) => m.set(key, v, o),
    ([v]) => [v],
  );
}

function listAppendStep(key: string, items: Fresh[], idKey: unknown, ttl: unknown): Step {
  const hasOptions = idKey !== undefined || ttl !== undefined;
  const makeOptions = () => ({
    ...(idKey === undefined ? {} : { idKey }),
    ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
  });
  return callStep(
    callLabel(
      "listAppendUnique",
      show(key),
      `[${items.map((i) => i.label).join(", ")}]`,
      hasOptions ? show(makeOptions()) : undefined,
    ),
    () => [items.map((i) => i.make()) as object[], hasOptions ? makeOptions() : undefined] as const,
    (kv, [list, o]) =>
      o === undefined ? kv.listAppendUnique(key, list) : kv.listAppendUnique(key, list, o as never),
    (m, [list, o]) => m.listAppendUnique(key, list, o),
    ([list]) => [list],
  );
}

/** The call's idKey comes first: the items carry their id in that field (mostly). */
function listAppendArb(grid: number[]): fc.Arbitrary<Step> {
  return idKeyArb.chain((idKey) =>
    fc
      .tuple(
        keyArb,
        fc.array(itemArb(idKey === "k" ? "k" : "id"), { maxLength: 4 }),
        fc.option(ttlSecondsArb(grid), { nil: undefined }),
      )
      .map(([key, items, ttl]) => listAppendStep(key, items, idKey, ttl)),
  );
}

function keyOnlyStep(method: "delete" | "listPopAll" | "exists", key: string): Step {
  return callStep(
    callLabel(method, show(key)),
    () => undefined,
    (kv) => kv[method](key),
    (m) => m[method](key),
  );
}

function mgetStep(keys: string[]): Step {
  return callStep(
    callLabel("mget", show(keys)),
    () => [...keys],
    (kv, k) => kv.mget(k),
    (m, k) => m.mget(k),
  );
}

type EntriesForm = "record" | "pairs" | "map";

function msetStep([form, pairs, options]: [
  EntriesForm,
  [string, Fresh][],
  Fresh | undefined,
]): Step {
  const pairsLabel = `[${pairs.map(([k, v]) => `[${show(k)}, ${v.label}]`).join(", ")}]`;
  const entriesLabel =
    form === "record"
      ? `Object.fromEntries(${pairsLabel})`
      : form === "map"
        ? `new Map(${pairsLabel})`
        : pairsLabel;
  const makeEntries = () => {
    const made = pairs.map(([k, v]) => [k, v.make()] as [string, unknown]);
    // Object.fromEntries defines own properties, so "__proto__" stays an ordinary key.
    return form === "record" ? Object.fromEntries(made) : form === "map" ? new Map(made) : made;
  };
  return callStep(
    callLabel("mset", entriesLabel, options?.label),
    () => [makeEntries(), options?.make()] as const,
    (kv, [e, o]) => (o === undefined ? kv.mset(e as never) : kv.mset(e as never, o as never)),
    (m, [e, o]) => m.mset(e, o),
    ([e]) =>
      e instanceof Map
        ? [...e.values()]
        : Array.isArray(e)
          ? e.map(([, v]) => v)
          : Object.values(e as object),
  );
}

function expireStep([key, seconds]: [string, unknown]): Step {
  return callStep(
    callLabel("expire", show(key), show(seconds)),
    () => undefined,
    (kv) => kv.expire(key, seconds as number),
    (m) => m.expire(key, seconds),
  );
}

function incrStep([key, amount, options]: [string, unknown, Fresh | undefined]): Step {
  return callStep(
    callLabel("incr", show(key), amount === undefined ? undefined : show(amount), options?.label),
    () => options?.make(),
    (kv, o) =>
      o === undefined
        ? amount === undefined
          ? kv.incr(key)
          : kv.incr(key, amount as number)
        : kv.incr(key, amount as number, o as never),
    (m, o) => m.incr(key, amount, o),
  );
}

function scanStep([prefix, limit, after]: [string, unknown, string | undefined]): Step {
  const hasOptions = limit !== undefined || after !== undefined;
  const makeOptions = () => ({
    ...(limit === undefined ? {} : { limit }),
    ...(after === undefined ? {} : { after }),
  });
  return callStep(
    callLabel("scanPrefix", show(prefix), hasOptions ? show(makeOptions()) : undefined),
    () => (hasOptions ? makeOptions() : undefined),
    (kv, o) => (o === undefined ? kv.scanPrefix(prefix) : kv.scanPrefix(prefix, o as never)),
    (m, o) => m.scanPrefix(prefix, o),
  );
}

/** `ttl()`: exact with a manual clock; with a real one, within what the elapsed time allows. */
function ttlStep(key: string, realClock: boolean): Step {
  const label = callLabel("ttl", show(key));
  return new Step(label, async (model, { backend }) => {
    const issuedAt = performance.now();
    const actual = await settle(() => backend.ttl(key));
    model.wallNow = performance.now();
    const expected = model.ttl(key);
    if (!realClock || !("ok" in expected) || !Number.isFinite(expected.ok)) {
      assertOutcome(label, actual, expected);
      return;
    }
    const most = model.wallSecondsLeft(key, issuedAt) as number;
    const least = most - REAL_TTL_SLACK_S;
    if (!actual.ok || typeof actual.value !== "number") {
      assertOutcome(label, actual, { ok: `a number in [${least}, ${most}]` });
      return;
    }
    if (!(actual.value >= least && actual.value <= most + REAL_TTL_ROUNDING_S)) {
      const range = `[${least.toFixed(3)}, ${most.toFixed(3)}]`;
      throw new Error(`${label}: expected seconds in ${range}, got ${actual.value}`);
    }
  });
}

/**
 * `purgeExpired()`: exact backends must answer within the model's bounds (see
 * ReferenceModel); others may remove less, never more. A real-clock backend whose engine
 * expires keys itself can only be checked for a count at all: nothing expires in its runs.
 */
function purgeStep(limit: unknown, realClock: boolean): Step {
  const label = callLabel("purgeExpired", limit === undefined ? undefined : show(limit));
  return new Step(label, async (model, { backend, exactPurge }) => {
    const actual = await settle(() =>
      limit === undefined ? backend.purgeExpired() : backend.purgeExpired(limit as number),
    );
    const resolved = model.purgeLimit(limit);
    if (resolved === null) {
      assertOutcome(label, actual, { fail: ["KV_INVALID_ARGUMENT"] });
      return;
    }
    const removed = actual.ok ? actual.value : undefined;
    if (typeof removed !== "number" || !Number.isSafeInteger(removed) || removed < 0) {
      assertOutcome(label, actual, { ok: "a count >= 0" });
      return;
    }
    if (realClock && !exactPurge) return;
    const [least, most] = model.purgeBounds(resolved);
    const floor = exactPurge ? least : 0;
    if (removed < floor || removed > most) {
      const wanted = floor === most ? `${most}` : `${floor} to ${most}`;
      throw new Error(`${label}: expected ${wanted} expired entries removed, got ${removed}`);
    }
    model.purged(resolved, removed, exactPurge);
  });
}

function advanceStep(ms: number): Step {
  return new Step(`clock.advance(${ms})`, async (model, { clock }) => {
    clock?.advance(ms);
    model.advance(ms);
  });
}

function commandArbs(realClock: boolean): fc.Arbitrary<Step>[] {
  const grid = realClock ? REAL_TTLS : MANUAL_TTLS;
  const ttlOptions = ttlOptionsArb(grid);
  const set = fc.tuple(keyArb, valueArb, ttlOptions).map(setStep);
  const listAppend = listAppendArb(grid);
  const incr = fc.tuple(keyArb, amountArb, ttlOptions).map(incrStep);
  const mset = fc
    .tuple(
      fc.constantFrom<EntriesForm>("record", "pairs", "map"),
      fc.array(fc.tuple(keyArb, valueArb), { maxLength: 4 }),
      ttlOptions,
    )
    .map(msetStep);
  const get = fc.tuple(keyArb, defaultArb).map(getStep);
  const ttl = keyArb.map((key) => ttlStep(key, realClock));
  const arbs = [
    set,
    set,
    set,
    listAppend,
    listAppend,
    listAppend,
    incr,
    incr,
    mset,
    get,
    get,
    keyArb.map((key) => keyOnlyStep("delete", key)),
    keyArb.map((key) => keyOnlyStep("listPopAll", key)),
    keyArb.map((key) => keyOnlyStep("exists", key)),
    fc.array(keyArb, { maxLength: 5 }).map(mgetStep),
    fc.tuple(keyArb, ttlSecondsArb(grid)).map(expireStep),
    ttl,
    ttl,
    limitArb.map((limit) => purgeStep(limit, realClock)),
    fc.tuple(prefixArb, limitArb, afterArb).map(scanStep),
  ];
  if (!realClock) {
    const advance = fc.constantFrom(...CLOCK_STEPS).map(advanceStep);
    arbs.push(advance, advance, advance, advance);
  }
  return arbs;
}

// --- the properties -------------------------------------------------------------------

/** How one model property runs: the suite's options and capabilities, resolved. */
export interface ModelRun {
  realClock: boolean;
  exactPurge: boolean;
  create(ctx: {
    clock: ManualClock | undefined;
    maxValueBytes: number | undefined;
  }): KVBackend | Promise<KVBackend>;
  dispose(backend: KVBackend): void | Promise<void>;
  /** fast-check parameters; `path` replays one shrunk counterexample. */
  numRuns: number;
  seed?: number;
  path?: string;
  /** fc.commands' own replay path (printed as `/*replayPath="…"*\/`): without it a path of the "operations" property cannot be replayed. */
  replayPath?: string;
}

/** Every command is a round trip on a remote backend: keep those runs short. */
export const maxCommands = (realClock: boolean) => (realClock ? 30 : 80);

/** The settings a failure must print so that the reader knows what the model ran with. */
export function describeSettings(property: ModelProperty, run: ModelRun): string {
  const clock = run.realClock ? "the backend's real clock" : `a manual clock from ${START_MS} ms`;
  const purge = run.exactPurge ? "exact" : "bounded";
  const specific =
    property === "operations"
      ? `maxValueBytes ${MAX_VALUE_BYTES}, up to ${maxCommands(run.realClock)} commands per sequence, TTLs from [${(run.realClock ? REAL_TTLS : MANUAL_TTLS).join(", ")}] s, purge "${purge}"`
      : "maxValueBytes the backend's default";
  return `${clock}, ${specific}, ${run.numRuns} runs`;
}

/** Runs one model property; returns fast-check's run details (`failed`, `seed`, `counterexamplePath`). */
export async function checkModelProperty(
  property: ModelProperty,
  run: ModelRun,
): Promise<fc.RunDetails<unknown>> {
  const { realClock } = run;
  const params: fc.Parameters<unknown> = { numRuns: run.numRuns };
  if (run.seed !== undefined) params.seed = run.seed;
  if (run.path !== undefined) params.path = run.path;

  async function withBackend<T>(
    clock: ManualClock | undefined,
    maxValueBytes: number | undefined,
    use: (backend: KVBackend) => Promise<T>,
  ): Promise<T> {
    const backend = await run.create({ clock, maxValueBytes });
    try {
      return await use(backend);
    } finally {
      await run.dispose(backend);
    }
  }
  const newClock = () => (realClock ? undefined : new ManualClock(START_MS));

  if (property === "operations") {
    return (await fc.check(
      fc.asyncProperty(
        fc.commands(commandArbs(realClock), {
          maxCommands: maxCommands(realClock),
          size: "max",
          ...(run.replayPath === undefined ? {} : { replayPath: run.replayPath }),
        }),
        async (steps) => {
          const clock = newClock();
          await withBackend(clock, MAX_VALUE_BYTES, (backend) =>
            fc.asyncModelRun(
              () => ({
                model: new ReferenceModel(MAX_VALUE_BYTES, 0),
                real: { backend, clock, exactPurge: run.exactPurge },
              }),
              steps,
            ),
          );
        },
      ),
      params,
    )) as fc.RunDetails<unknown>;
  }

  const unit = fc.constantFrom("a", "b", "*", ":", "é", "😀", "ｚ");
  if (property === "scanPrefix") {
    return (await fc.check(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ unit, minLength: 1, maxLength: 4 }), { maxLength: 12 }),
        fc.string({ unit, maxLength: 2 }),
        fc.option(fc.string({ unit, maxLength: 3 }), { nil: undefined }),
        fc.integer({ min: 1, max: 4 }),
        async (keys, prefix, after, limit) => {
          await withBackend(newClock(), undefined, async (kv) => {
            await kv.mset(keys.map((key, i) => [key, i] as const));
            const matching = keys
              .filter((key) => key.startsWith(prefix) && (after === undefined || key > after))
              .sort();
            const options = after === undefined ? { limit } : { limit, after };
            const label = `scanPrefix(${show(prefix)}, ${show(options)}) over keys ${show(keys)}`;
            expect(await kv.scanPrefix(prefix, options), label).toEqual(matching.slice(0, limit));
            // Walking the pages with `after` visits every key once, in order.
            const walked: string[] = [];
            let cursor = after;
            for (let page = 0; page <= matching.length; page++) {
              const next = await kv.scanPrefix(
                prefix,
                cursor === undefined ? { limit } : { limit, after: cursor },
              );
              walked.push(...next);
              if (next.length < limit) break;
              cursor = next[next.length - 1];
            }
            expect(walked, `${label}: every page walked with after`).toEqual(matching);
          });
        },
      ),
      params,
    )) as fc.RunDetails<unknown>;
  }

  const item = fc.record({
    id: fc.constantFrom<string | number>(1, "1", 2, "2", "a", 3),
    n: fc.nat(9),
  });
  return (await fc.check(
    fc.asyncProperty(
      fc.array(fc.array(item, { maxLength: 5 }), { minLength: 1, maxLength: 6 }),
      async (batches) => {
        await withBackend(newClock(), undefined, async (kv) => {
          const expected: { id: string | number; n: number }[] = [];
          for (const batch of batches) {
            for (const candidate of batch) {
              if (!expected.some((kept) => kept.id === candidate.id))
                expected.push({ ...candidate });
            }
            expect(
              await kv.listAppendUnique("inbox", batch),
              `listAppendUnique("inbox", ${show(batch)})`,
            ).toEqual(expected);
          }
          expect(await kv.listPopAll("inbox"), 'listPopAll("inbox")').toEqual(expected);
          expect(await kv.exists("inbox"), 'exists("inbox") after the pop').toBe(false);
        });
      },
    ),
    params,
  )) as fc.RunDetails<unknown>;
}

/** The replay path fc.commands printed into a failed run's counterexample, if any. */
export function commandsReplayPath(details: fc.RunDetails<unknown>): string | undefined {
  const counterexample = details.counterexample as unknown[] | null | undefined;
  const shown = counterexample == null ? "" : String(counterexample[0]);
  return /replayPath="([^"]*)"/.exec(shown)?.[1];
}

/** fast-check's own report of a failed run: the shrunk counterexample, and what diverged. */
export function reportOf(details: fc.RunDetails<unknown>): string {
  const error = details.errorInstance;
  const divergence = error instanceof Error ? error.message : String(error);
  return `${fc.defaultReportMessage(details) ?? ""}\nWhat diverged: ${divergence}`;
}
