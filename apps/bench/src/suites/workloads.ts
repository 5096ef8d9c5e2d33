import { type Item, keyOf, listItem, listOf, random, sizedValue } from "../data.js";
import type { BatchTask } from "../measure.js";
import type { Store } from "../subjects/types.js";
import { BATCH_KEYS, type CellSpec, POP_LIST_LENGTH, PREFILL, TTL_SECONDS } from "./cells.js";

/** Calls per measured batch: enough that one batch takes well over the timer's resolution. */
const CALLS = 256;
const BATCH_CALLS = 16;

/** `count` indices below `below`, shuffled the same way for every subject. */
function randomIndices(count: number, below: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => Math.floor(next() * below));
}

/** Round-robin over a prepared array, so a batch never pays for making its arguments. */
function cycler<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => {
    const item = items[i]!;
    i = i + 1 === items.length ? 0 : i + 1;
    return item;
  };
}

/** Fills a fresh store with the PREFILL keys every cell starts from. */
export async function prefill(store: Store, cell: CellSpec): Promise<void> {
  for (let i = 0; i < PREFILL; i++) await store.set(keyOf(i), sizedValue(cell.size, i));
}

function repeat(times: number, call: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    for (let i = 0; i < times; i++) await call();
  };
}

/** Values written by the write cells: a pool, so no store can profit from seeing one object twice in a row. */
function valuePool(cell: CellSpec): () => Record<string, unknown> {
  return cycler(Array.from({ length: 64 }, (_, i) => sizedValue(cell.size, PREFILL + i)));
}

/**
 * The batch task of one cell on one store. Every cell keeps the store in the state the
 * cell means to measure: reads hit (or miss) prefilled keys, writes overwrite them, and
 * operations that consume keys (delete, listPopAll) or grow them (listAppendUnique)
 * have them put back, untimed, before each batch.
 */
export function workload(cell: CellSpec, store: Store): BatchTask {
  const hitKey = cycler(randomIndices(4096, PREFILL, 1).map((i) => keyOf(i)));
  switch (cell.id.split("/")[0]) {
    case "get-hit":
      return { batch: CALLS, run: repeat(CALLS, () => store.get(hitKey())) };
    case "get-miss": {
      const missKey = cycler(Array.from({ length: 4096 }, (_, i) => `miss:${i}`));
      return { batch: CALLS, run: repeat(CALLS, () => store.get(missKey())) };
    }
    case "set": {
      const value = valuePool(cell);
      return { batch: CALLS, run: repeat(CALLS, () => store.set(hitKey(), value())) };
    }
    case "set-ttl": {
      const setTtl = store.setTtl!.bind(store);
      const value = valuePool(cell);
      return { batch: CALLS, run: repeat(CALLS, () => setTtl(hitKey(), value(), TTL_SECONDS)) };
    }
    case `mget-${BATCH_KEYS}`: {
      const mget = store.mget!.bind(store);
      const keys = cycler(
        Array.from({ length: 64 }, (_, b) =>
          randomIndices(BATCH_KEYS, PREFILL, 100 + b).map((i) => keyOf(i)),
        ),
      );
      return { batch: BATCH_CALLS, run: repeat(BATCH_CALLS, () => mget(keys())) };
    }
    case `mset-${BATCH_KEYS}`: {
      const mset = store.mset!.bind(store);
      const prepared = cycler(
        Array.from({ length: 16 }, (_, b) =>
          store.prepareMset!(
            randomIndices(BATCH_KEYS, PREFILL, 200 + b).map(
              (i, j) => [keyOf(i), sizedValue(cell.size, PREFILL + j)] as const,
            ),
          ),
        ),
      );
      return { batch: BATCH_CALLS, run: repeat(BATCH_CALLS, () => mset(prepared())) };
    }
    case "delete":
      return deleteWorkload(cell, store);
    case "incr": {
      const incr = store.incr!.bind(store);
      const counter = cycler(Array.from({ length: 100 }, (_, i) => `counter:${i}`));
      return { batch: CALLS, run: repeat(CALLS, () => incr(counter())) };
    }
    case "listAppendUnique":
      return appendWorkload(cell, store);
    case "listPopAll":
      return popWorkload(store);
    default:
      throw new Error(`no workload for cell ${cell.id}`);
  }
}

/** Deletes live keys: the batch's keys are written back (untimed) before each batch. */
function deleteWorkload(cell: CellSpec, store: Store): BatchTask {
  const del = store.delete!.bind(store);
  const keys = Array.from({ length: CALLS }, (_, i) => keyOf(i * Math.floor(PREFILL / CALLS)));
  const values = keys.map((_, i) => sizedValue(cell.size, i));
  return {
    batch: CALLS,
    async setup() {
      for (let i = 0; i < keys.length; i++) await store.set(keys[i]!, values[i]);
    },
    async run() {
      for (const key of keys) await del(key);
    },
  };
}

/**
 * Appends one new item to each of a batch of lists that hold `listLength` items: the
 * lists are reset to that length (untimed) before each batch, so every call appends to
 * a list of the intended length and the lists do not grow across batches.
 */
function appendWorkload(cell: CellSpec, store: Store): BatchTask {
  const append = store.listAppendUnique!.bind(store);
  const length = cell.listLength!;
  const lists = Math.max(8, Math.min(64, Math.floor(20_000 / length)));
  const base = listOf(length);
  const keys = Array.from({ length: lists }, (_, i) => `list:${i}`);
  const fresh: Item[][] = keys.map((_, i) => [listItem(1_000_000 + i)]);
  return {
    batch: lists,
    async setup() {
      // A copy each time: a store that keeps references appends into the array it holds.
      for (const key of keys) await store.set(key, base.slice());
    },
    async run() {
      for (let i = 0; i < keys.length; i++) await append(keys[i]!, fresh[i]!);
    },
  };
}

/** Pops whole lists of POP_LIST_LENGTH items, put back (untimed) before each batch. */
function popWorkload(store: Store): BatchTask {
  const pop = store.listPopAll!.bind(store);
  const keys = Array.from({ length: 128 }, (_, i) => `inbox:${i}`);
  const base = listOf(POP_LIST_LENGTH);
  return {
    batch: keys.length,
    async setup() {
      for (const key of keys) await store.set(key, base.slice());
    },
    async run() {
      for (const key of keys) await pop(key);
    },
  };
}
