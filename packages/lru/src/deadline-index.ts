/**
 * Which keys may have expired, soonest first: a binary min-heap of `(deadline, key)`
 * pairs, held in two parallel arrays so a node costs no object of its own.
 *
 * Why it exists at all, beside lru-cache's own TTLs: SPEC.md wants `purgeExpired(limit)`
 * to remove exactly `min(limit, expired)` entries in time proportional to `limit`.
 * lru-cache only knows recency order, and expired entries can sit anywhere in it: TTLs
 * differ per key, and a read moves a short-lived key to the fresh end. So the only way
 * to find them from lru-cache alone is a walk of every entry (that is what its
 * `purgeStale()` does), O(n) however few have expired. This index finds them in order.
 *
 * It is a hint, never the authority: lru-cache keeps each entry's TTL and decides
 * whether it has expired. A node is pushed when a key gets a new deadline and is never
 * updated; when the key is overwritten, deleted, evicted or given another deadline, the
 * old node simply stops matching the cache. Whoever pops a node checks it against the
 * cache first (see `LruBackend#purge`). So that such stale nodes cannot pile up (a key
 * re-set with a TTL in a loop; churn evicting keys that had TTLs), the owner calls
 * `compact` when the heap holds more than about twice as many nodes as the cache holds
 * entries: stale nodes go, one node per key stays, and the heap is rebuilt in O(h).
 * The heap at least halves each time, so compaction costs amortized O(1) per push.
 */
export class DeadlineIndex {
  #deadlines: number[] = [];
  #keys: string[] = [];

  get size(): number {
    return this.#keys.length;
  }

  /** The earliest deadline, or `Infinity` when empty. */
  firstDeadline(): number {
    return this.#keys.length === 0 ? Number.POSITIVE_INFINITY : this.#deadlines[0]!;
  }

  /** The key of the earliest deadline; only meaningful when not empty. */
  firstKey(): string {
    return this.#keys[0]!;
  }

  push(deadline: number, key: string): void {
    this.#deadlines.push(deadline);
    this.#keys.push(key);
    this.#siftUp(this.#keys.length - 1);
  }

  /** Removes the earliest node. */
  shift(): void {
    const deadlines = this.#deadlines;
    const keys = this.#keys;
    const lastDeadline = deadlines.pop()!;
    const lastKey = keys.pop()!;
    if (keys.length === 0) return;
    deadlines[0] = lastDeadline;
    keys[0] = lastKey;
    this.#siftDown(0);
  }

  /**
   * Keeps only the nodes for which `isCurrent(key, deadline)` holds, at most one per
   * key, and restores the heap order bottom-up (O(h), cheaper than h pushes).
   */
  compact(isCurrent: (key: string, deadline: number) => boolean): void {
    const seen = new Set<string>();
    const deadlines: number[] = [];
    const keys: string[] = [];
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i]!;
      const deadline = this.#deadlines[i]!;
      if (seen.has(key) || !isCurrent(key, deadline)) continue;
      seen.add(key);
      deadlines.push(deadline);
      keys.push(key);
    }
    this.#deadlines = deadlines;
    this.#keys = keys;
    for (let i = (keys.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  clear(): void {
    this.#deadlines = [];
    this.#keys = [];
  }

  #siftUp(start: number): void {
    const deadlines = this.#deadlines;
    const keys = this.#keys;
    const deadline = deadlines[start]!;
    const key = keys[start]!;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (deadlines[parent]! <= deadline) break;
      deadlines[i] = deadlines[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    deadlines[i] = deadline;
    keys[i] = key;
  }

  #siftDown(start: number): void {
    const deadlines = this.#deadlines;
    const keys = this.#keys;
    const n = keys.length;
    const deadline = deadlines[start]!;
    const key = keys[start]!;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && deadlines[child + 1]! < deadlines[child]!) child++;
      if (deadlines[child]! >= deadline) break;
      deadlines[i] = deadlines[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    deadlines[i] = deadline;
    keys[i] = key;
  }
}
