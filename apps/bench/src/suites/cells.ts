import type { ValueSize } from "../data.js";
import type { Op } from "../subjects/types.js";

/** One column of the in-process table: an operation, on one value size or list length. */
export interface CellSpec {
  /** Stable id, used in the JSON results: `get-hit/small`. */
  id: string;
  /** Column label: `get hit (small)`. */
  label: string;
  op: Op;
  /** Size of the prefilled values and of the values written. */
  size: ValueSize;
  /** For listAppendUnique: the length of the list appended to. */
  listLength?: number;
}

/** Keys every cell's store holds before it is measured. */
export const PREFILL = 10_000;
/** Keys per mget / mset call. */
export const BATCH_KEYS = 100;
/** Items in each list listPopAll pops. */
export const POP_LIST_LENGTH = 10;
export const LIST_LENGTHS = [10, 100, 1000] as const;
export const TTL_SECONDS = 3600;

function sized(op: Op, name: string, size: ValueSize): CellSpec {
  return { id: `${name.replaceAll(" ", "-")}/${size}`, label: `${name} (${size})`, op, size };
}

function bySize(size: ValueSize): CellSpec[] {
  return [
    sized("get", "get hit", size),
    sized("get", "get miss", size),
    sized("set", "set", size),
    sized("setTtl", "set ttl", size),
    sized("mget", `mget ${BATCH_KEYS}`, size),
    sized("mset", `mset ${BATCH_KEYS}`, size),
    sized("delete", "delete", size),
  ];
}

/** Every in-process cell, in column order. Counters and lists do not depend on the value size. */
export const CELLS: readonly CellSpec[] = [
  ...bySize("small"),
  ...bySize("medium"),
  { id: "incr", label: "incr", op: "incr", size: "small" },
  ...LIST_LENGTHS.map(
    (n): CellSpec => ({
      id: `listAppendUnique/${n}`,
      label: `listAppendUnique (list of ${n})`,
      op: "listAppendUnique",
      size: "small",
      listLength: n,
    }),
  ),
  {
    id: "listPopAll",
    label: `listPopAll (list of ${POP_LIST_LENGTH})`,
    op: "listPopAll",
    size: "small",
  },
];
