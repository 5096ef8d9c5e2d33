import type { Item } from "../data.js";

/**
 * `listAppendUnique` as a user of a plain get/set cache writes it: read the list, drop
 * the items whose id is already there (or earlier in the call), write the list back.
 * The peers that have no list operation use this between their own get and set, so it
 * is the same code for each of them. It returns a new array, so it is also correct on a
 * store that keeps references (mutating the stored array in place would skip its set).
 */
export function appendUnique(stored: unknown, items: readonly Item[]): Item[] {
  const list = Array.isArray(stored) ? (stored as Item[]) : [];
  const seen = new Set<unknown>();
  for (const element of list) seen.add(element.id);
  const added: Item[] = [];
  for (const item of items) {
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    added.push(item);
  }
  return added.length === 0 ? list : list.concat(added);
}

/** A counter as a user of a plain get/set cache writes it. */
export function incremented(stored: unknown): number {
  return (typeof stored === "number" ? stored : 0) + 1;
}

export const GET_SET_NOTE =
  "get + set in user code: two calls, not atomic (a concurrent writer between them is lost)";
