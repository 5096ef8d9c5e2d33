/**
 * The expiry index: a min-heap of entries ordered by deadline, so the entry that
 * expires first is always at the root. `purgeExpired(limit)` pops from the root and
 * stops at the first live deadline, which costs O(limit · log n) however large the store
 * is; a scan of the Map would cost O(n) on every call.
 *
 * It is an *indexed* heap: every entry remembers its position (`slot`), so an entry whose
 * TTL changes or that is deleted is moved or removed in O(log n) at once. The usual lazy
 * alternative (leave stale nodes, skip them when popped) would let a key that is re-set
 * with a TTL over and over pile up dead nodes, and purge could not count exactly.
 *
 * Laid out for a store of a million keys, where the cost is cache misses, not compares:
 * - The deadlines live in their own array beside the entries, so the compares of a sift
 *   read packed doubles next to each other instead of following a pointer to every
 *   entry object (which sit far apart in a big heap of memory).
 * - It is 4-ary, not binary: half the levels, and a node's four children are adjacent.
 *   A sift still touches one entry object per level (to update its `slot`), so halving
 *   the levels halves the misses that remain.
 *
 * Entries without a deadline (`Infinity`) are not in the heap at all (`slot === -1`):
 * keys without a TTL cost the index nothing.
 */
export interface HeapEntry {
  /** When the entry expires, in clock milliseconds; `Infinity` for never. */
  deadline: number;
  /** The entry's index in the heap, or -1 when it is not in the heap. */
  slot: number;
}

const ARITY = 4;

export class ExpiryHeap<T extends HeapEntry> {
  #entries: T[] = [];
  /** `#deadlines[i]` is `#entries[i].deadline`, kept beside it for cache-friendly compares. */
  #deadlines: number[] = [];

  get size(): number {
    return this.#entries.length;
  }

  /** The entry with the earliest deadline, left in place. */
  peek(): T | undefined {
    return this.#entries[0];
  }

  /** The earliest deadline, `Infinity` when empty: read without touching the entry. */
  firstDeadline(): number {
    return this.#entries.length === 0 ? Number.POSITIVE_INFINITY : this.#deadlines[0]!;
  }

  /**
   * Brings the heap in line with `entry.deadline` after it was set or changed: a finite
   * deadline is added or moved to its place, `Infinity` takes the entry out.
   */
  track(entry: T): void {
    const deadline = entry.deadline;
    if (deadline === Number.POSITIVE_INFINITY) {
      this.remove(entry);
    } else if (entry.slot < 0) {
      this.#entries.push(entry);
      this.#deadlines.push(deadline);
      this.#siftUp(this.#entries.length - 1, entry, deadline);
    } else {
      this.#place(entry.slot, entry, deadline);
    }
  }

  /** Takes `entry` out of the heap; a no-op when it is not in it. */
  remove(entry: T): void {
    const i = entry.slot;
    if (i < 0) return;
    entry.slot = -1;
    const last = this.#entries.pop()!;
    const lastDeadline = this.#deadlines.pop()!;
    // Fill the hole with the last leaf and let it find its level again.
    if (last !== entry) this.#place(i, last, lastDeadline);
  }

  clear(): void {
    for (const entry of this.#entries) entry.slot = -1;
    this.#entries = [];
    this.#deadlines = [];
  }

  /** Puts `entry` at `i` or wherever its deadline belongs from there, up or down. */
  #place(i: number, entry: T, deadline: number): void {
    if (i > 0 && this.#deadlines[(i - 1) >> 2]! > deadline) this.#siftUp(i, entry, deadline);
    else this.#siftDown(i, entry, deadline);
  }

  #siftUp(start: number, entry: T, deadline: number): void {
    const entries = this.#entries;
    const deadlines = this.#deadlines;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const parentDeadline = deadlines[p]!;
      if (parentDeadline <= deadline) break;
      const parent = entries[p]!;
      entries[i] = parent;
      deadlines[i] = parentDeadline;
      parent.slot = i;
      i = p;
    }
    entries[i] = entry;
    deadlines[i] = deadline;
    entry.slot = i;
  }

  #siftDown(start: number, entry: T, deadline: number): void {
    const entries = this.#entries;
    const deadlines = this.#deadlines;
    const n = entries.length;
    let i = start;
    for (;;) {
      const first = ARITY * i + 1;
      if (first >= n) break;
      // The earliest of up to four adjacent children.
      let child = first;
      let childDeadline = deadlines[first]!;
      const end = Math.min(first + ARITY, n);
      for (let c = first + 1; c < end; c++) {
        const d = deadlines[c]!;
        if (d < childDeadline) {
          child = c;
          childDeadline = d;
        }
      }
      if (childDeadline >= deadline) break;
      const next = entries[child]!;
      entries[i] = next;
      deadlines[i] = childDeadline;
      next.slot = i;
      i = child;
    }
    entries[i] = entry;
    deadlines[i] = deadline;
    entry.slot = i;
  }
}
