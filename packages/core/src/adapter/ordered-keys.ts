import type { ResolvedScan } from "../validate.js";

/**
 * The keys of an in-process store in ascending code-unit order, kept beside its map so
 * that `scanPrefix` costs O(log n + limit) per page instead of a sort of every key.
 *
 * ## Shape: a B-tree of arrays, one level deep
 * Keys live in sorted leaves of at most `LEAF_MAX` keys; `#firsts` holds each leaf's
 * first key. A seek is two binary searches (over the leaves' first keys, then in one
 * leaf); a page is a walk along the leaves. Inserting one key is a splice of one leaf
 * (at most a few hundred pointers moved) plus, when the leaf splits, a splice of the
 * leaf list (a few thousand pointers at a million keys): memmoves, no allocation per key.
 *
 * ## Writes pay almost nothing
 * - The index starts dormant and costs nothing: it is built at the first scan, from the
 *   owner's keys (`source`), one sort, O(n log n).
 * - Afterwards a key that may be new is pushed to an unsorted buffer (`add`, O(1)); the
 *   buffer is merged at the next scan (a few keys: inserted one by one; many: one
 *   merge, O(n + p log p) for `p` buffered keys, amortized O(log p) per key).
 * - When the buffer outgrows the index, the store writes far more than it scans: the
 *   index goes dormant again (dropped, `add` a no-op) until the next scan rebuilds it,
 *   which costs what merging the buffer would have. So a store that scanned once long
 *   ago does not keep paying on every new key, the buffer never holds more keys than
 *   the index, and no write ever does a merge's work: only scans do.
 * - Removals are lazy: a deleted key stays until a merge finds the index holding more
 *   than twice the keys the store holds (plus a slack), which filters every leaf through
 *   `present` (O(n), amortized over the n deletes that made it necessary). Scans skip
 *   keys that are gone, as they skip expired ones, through the owner's `isLive`.
 * Adding a key that is already indexed is harmless (merges drop duplicates), so an owner
 * may add whenever a key *may* be new.
 *
 * ## Items
 * The leaves hold items: the keys themselves (the default), or the owner's entry objects
 * (`resolve` finds the entry of a key when it is merged in, `keyOf` reads it back), so
 * that a scan checks liveness on the entry it holds (one memory access) instead of
 * looking each key up in the map in sorted order, which is random order for the map.
 * Keys are sorted as strings (the engine's fast default sort) and resolved once merged.
 * An entry that left the store must say so (`present`); a key that comes back is
 * resolved to its new entry.
 */
export interface OrderedKeysOptions<T> {
  /** Whether `item` is still stored (expired or not): items that are not are dropped at compaction. */
  present: (item: T) => boolean;
  /** How many keys the store holds now. */
  held: () => number;
  /** Every key the store holds (expired ones included), in any order: read when a scan finds the index dormant. */
  source: () => Iterable<string>;
  /** The item the store holds for a key, or `undefined` when none; default: the key itself. */
  resolve?: (key: string) => T | undefined;
  /** The key of an item; default: the item is the key. */
  keyOf?: (item: T) => string;
}

export class OrderedKeys<T = string> {
  readonly #present: (item: T) => boolean;
  readonly #held: () => number;
  readonly #source: () => Iterable<string>;
  readonly #resolve: (key: string) => T | undefined;
  readonly #keyOf: ((item: T) => string) | undefined;
  /** No index is kept (never scanned, or writes outran scans): `add` does nothing. */
  #dormant = true;
  /** Sorted, non-empty leaves; their concatenation is sorted by key, one item per key. */
  #leaves: T[][] = [];
  /** The key of each leaf's first item. */
  #firsts: string[] = [];
  /** Items in the leaves, gone ones included. */
  #count = 0;
  /** Keys that may be new, in no order. */
  #pending: string[] = [];

  constructor(options: OrderedKeysOptions<T>) {
    this.#present = options.present;
    this.#held = options.held;
    this.#source = options.source;
    this.#resolve = options.resolve ?? ((key) => key as T);
    this.#keyOf = options.keyOf;
  }

  /** Items indexed or buffered, gone ones and duplicates included (an upper bound). */
  get size(): number {
    return this.#count + this.#pending.length;
  }

  /** Whether an index is kept now (built by a scan, not dropped since). */
  get active(): boolean {
    return !this.#dormant;
  }

  /** `key` may be new to the store: it will be in the index from the next scan on. */
  add(key: string): void {
    if (this.#dormant) return;
    const pending = this.#pending;
    pending.push(key);
    // Writes outran scans: dormant until the next scan.
    if (pending.length > LEAF_MAX && pending.length > this.#count) this.clear();
  }

  /**
   * The page a scan asks for (SPEC.md "scanPrefix"): keys that start with `scan.prefix`,
   * strictly after `scan.after`, ascending, at most `scan.limit`, of the items `isLive`
   * accepts. O(log n + items visited).
   */
  scan(scan: ResolvedScan, isLive: (item: T) => boolean): string[] {
    if (this.#dormant) {
      this.#rebuild(this.#resolveAll([...this.#source()]));
      this.#dormant = false;
    } else {
      this.#flush();
    }
    const { prefix, after, limit } = scan;
    const out: string[] = [];
    const leaves = this.#leaves;
    if (leaves.length === 0) return out;
    // From the prefix, or just after `after` when that comes later; up to the first key
    // past every key with the prefix. Both ends found by binary search: the walk between
    // them reads no key, only the items `isLive` looks at.
    const exclusive = after !== undefined && after >= prefix;
    let [l, i] = this.#seek(exclusive ? after : prefix, exclusive);
    const end = prefixEnd(prefix);
    const [le, ie] = end === undefined ? [leaves.length, 0] : this.#seek(end, false);
    const keyOf = this.#keyOf;
    let leaf = leaves[l]!;
    while (l < le || (l === le && i < ie)) {
      if (i === leaf.length) {
        l++;
        leaf = leaves[l]!;
        i = 0;
        continue;
      }
      const item = leaf[i++]!;
      if (isLive(item)) {
        out.push(keyOf === undefined ? (item as string) : keyOf(item));
        if (out.length === limit) break;
      }
    }
    return out;
  }

  /** Drops the index: dormant until the next scan. */
  clear(): void {
    this.#rebuild([]);
    this.#pending = [];
    this.#dormant = true;
  }

  #key(item: T): string {
    return this.#keyOf === undefined ? (item as string) : this.#keyOf(item);
  }

  /** The position of the first key `>= key` (`> key` when `exclusive`): [leaf, index]. */
  #seek(key: string, exclusive: boolean): [number, number] {
    const firsts = this.#firsts;
    const l = Math.max(0, upperBound(firsts, key, 0, firsts.length) - 1);
    const leaf = this.#leaves[l]!;
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.#key(leaf[mid]!);
      if (exclusive ? k <= key : k < key) lo = mid + 1;
      else hi = mid;
    }
    return [l, lo];
  }

  /** Merges the buffered items into the leaves (and compacts first when due). */
  #flush(): void {
    const pending = this.#pending;
    if (this.#count + pending.length > 2 * this.#held() + COMPACT_SLACK) this.#compact();
    if (pending.length === 0) return;
    this.#pending = [];
    const items = this.#resolveAll(pending);
    if (items.length * 16 < this.#count) {
      for (const item of items) this.#insert(item);
    } else {
      this.#rebuild(this.#merge(this.#flatten(), items));
    }
  }

  #insert(item: T): void {
    const leaves = this.#leaves;
    if (leaves.length === 0) {
      this.#rebuild([item]);
      return;
    }
    const key = this.#key(item);
    const [l, i] = this.#seek(key, false);
    const leaf = leaves[l]!;
    if (i < leaf.length && this.#key(leaf[i]!) === key) {
      leaf[i] = item; // one item per key: the one just resolved
      return;
    }
    leaf.splice(i, 0, item);
    if (i === 0) this.#firsts[l] = key;
    this.#count++;
    if (leaf.length > LEAF_MAX) {
      const right = leaf.splice(leaf.length >> 1);
      leaves.splice(l + 1, 0, right);
      this.#firsts.splice(l + 1, 0, this.#key(right[0]!));
    }
  }

  /** Keys sorted (code-unit order, what SPEC.md asks for), once each, as the items stored now. */
  #resolveAll(keys: string[]): T[] {
    keys.sort();
    const resolve = this.#resolve;
    const out: T[] = [];
    let last: string | undefined;
    for (const key of keys) {
      if (key === last) continue;
      last = key;
      const item = resolve(key);
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  /** Two sorted arrays merged by key; of equal keys, the one of `b` (just resolved). */
  #merge(a: readonly T[], b: readonly T[]): T[] {
    const out: T[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const x = this.#key(a[i]!);
      const y = this.#key(b[j]!);
      if (x < y) out.push(a[i++]!);
      else if (y < x) out.push(b[j++]!);
      else {
        out.push(b[j++]!);
        i++;
      }
    }
    while (i < a.length) out.push(a[i++]!);
    while (j < b.length) out.push(b[j++]!);
    return out;
  }

  /** Drops the items the store no longer holds. */
  #compact(): void {
    const present = this.#present;
    const kept: T[] = [];
    for (const leaf of this.#leaves) for (const item of leaf) if (present(item)) kept.push(item);
    this.#rebuild(kept);
  }

  #flatten(): T[] {
    return this.#leaves.length === 1 ? this.#leaves[0]! : (this.#leaves.flat() as T[]);
  }

  /** Cuts a sorted array, one item per key, into leaves filled to `LEAF_FILL`. */
  #rebuild(sorted: T[]): void {
    const leaves: T[][] = [];
    const firsts: string[] = [];
    for (let i = 0; i < sorted.length; i += LEAF_FILL) {
      const leaf = sorted.slice(i, i + LEAF_FILL);
      leaves.push(leaf);
      firsts.push(this.#key(leaf[0]!));
    }
    this.#leaves = leaves;
    this.#firsts = firsts;
    this.#count = sorted.length;
  }
}

/**
 * The least string greater than every string that starts with `prefix`, in code-unit
 * order; `undefined` when there is none (`""`, or only U+FFFF units).
 */
function prefixEnd(prefix: string): string | undefined {
  let i = prefix.length;
  while (i > 0 && prefix.charCodeAt(i - 1) === 0xffff) i--;
  if (i === 0) return undefined;
  return prefix.slice(0, i - 1) + String.fromCharCode(prefix.charCodeAt(i - 1) + 1);
}

/** A leaf splits in two above this many keys. */
const LEAF_MAX = 512;
/** Leaves built in bulk are filled to this, leaving room for inserts. */
const LEAF_FILL = 384;
/** Gone keys tolerated beyond twice the keys held before a compaction. */
const COMPACT_SLACK = 1024;

/** The first index in `a[from, to)` whose key is `> key`. */
function upperBound(a: readonly string[], key: string, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The page of a scan over keys in no particular order: filter, sort, cut. O(n log n) per
 * call: for an engine without an ordered index (a small store, a first version).
 */
export function scanUnordered(
  keys: Iterable<string>,
  scan: ResolvedScan,
  isLive: (key: string) => boolean,
): string[] {
  const { prefix, after, limit } = scan;
  const out: string[] = [];
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    if (after !== undefined && key <= after) continue;
    if (isLive(key)) out.push(key);
  }
  // The default sort compares UTF-16 code units, the order SPEC.md asks for.
  out.sort();
  return out.length > limit ? out.slice(0, limit) : out;
}
