/**
 * The expiry index: a binary min-heap of entries ordered by deadline, so the entry that
 * expires first is always at the root. `purgeExpired(limit)` pops from the root and
 * stops at the first live deadline, which costs O(limit · log n) however large the store
 * is; a scan of the Map would cost O(n) on every call.
 *
 * It is an *indexed* heap: every entry remembers its position (`slot`), so an entry whose
 * TTL changes or that is deleted is moved or removed in O(log n) at once. The usual lazy
 * alternative (leave stale nodes, skip them when popped) would let a key that is re-set
 * with a TTL over and over pile up dead nodes, and purge could not count exactly.
 *
 * Entries without a deadline (`Infinity`) are not in the heap at all (`slot === -1`):
 * most keys of a cache-less store cost the index nothing.
 */
export interface HeapEntry {
  /** When the entry expires, in clock milliseconds; `Infinity` for never. */
  deadline: number;
  /** The entry's index in the heap array, or -1 when it is not in the heap. */
  slot: number;
}

export class ExpiryHeap<T extends HeapEntry> {
  #nodes: T[] = [];

  get size(): number {
    return this.#nodes.length;
  }

  /** The entry with the earliest deadline, left in place. */
  peek(): T | undefined {
    return this.#nodes[0];
  }

  /**
   * Brings the heap in line with `entry.deadline` after it was set or changed: a finite
   * deadline is added or moved to its place, `Infinity` takes the entry out.
   */
  track(entry: T): void {
    if (entry.deadline === Number.POSITIVE_INFINITY) {
      this.remove(entry);
    } else if (entry.slot < 0) {
      entry.slot = this.#nodes.length;
      this.#nodes.push(entry);
      this.#siftUp(entry.slot);
    } else {
      // The deadline moved one way or the other: at most one of the two sifts does work.
      this.#siftUp(entry.slot);
      this.#siftDown(entry.slot);
    }
  }

  /** Takes `entry` out of the heap; a no-op when it is not in it. */
  remove(entry: T): void {
    const i = entry.slot;
    if (i < 0) return;
    entry.slot = -1;
    const last = this.#nodes.pop()!;
    if (last === entry) return;
    // Fill the hole with the last leaf and let it find its level again.
    this.#nodes[i] = last;
    last.slot = i;
    this.#siftUp(i);
    this.#siftDown(last.slot);
  }

  clear(): void {
    for (const node of this.#nodes) node.slot = -1;
    this.#nodes = [];
  }

  #siftUp(start: number): void {
    const nodes = this.#nodes;
    const node = nodes[start]!;
    const deadline = node.deadline;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = nodes[p]!;
      if (parent.deadline <= deadline) break;
      nodes[i] = parent;
      parent.slot = i;
      i = p;
    }
    nodes[i] = node;
    node.slot = i;
  }

  #siftDown(start: number): void {
    const nodes = this.#nodes;
    const n = nodes.length;
    const node = nodes[start]!;
    const deadline = node.deadline;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && nodes[right]!.deadline < nodes[child]!.deadline) child = right;
      const next = nodes[child]!;
      if (next.deadline >= deadline) break;
      nodes[i] = next;
      next.slot = i;
      i = child;
    }
    nodes[i] = node;
    node.slot = i;
  }
}
