/**
 * The expiry index: finds the entries whose deadline has passed, soonest first, so that
 * `purgeExpired(limit)` does work in proportion to `limit`, not to the store's size.
 *
 * ## One queue per TTL
 * The textbook structure, one min-heap of every entry by deadline, is O(log n) per pop,
 * but on a store of a million keys that all have TTLs each pop walks a dozen levels of
 * a heap far bigger than the CPU cache, one cache miss per level. So the index groups
 * entries by TTL, the way Node's own timers group timeouts by duration: entries written
 * with the same TTL get their deadlines in the order they are written (the clock does
 * not go back), so a plain array per TTL is already sorted. Append at the tail, expire
 * from the head; a small binary heap orders the queues by their first deadline. Taking
 * the next expired entry reads the head of the first queue (sequential memory), touches
 * that one entry, and re-sifts one queue among a handful. Apps use few distinct TTLs;
 * with a different TTL on every key the queues degrade into a plain heap of one-entry
 * queues: slower, still correct.
 *
 * ## Lazy removal
 * When a key is deleted, overwritten, or given a new TTL, its old node is not searched
 * for; it goes stale. A node counts only while its entry is still `indexed` with that
 * very deadline; stale nodes are dropped when they reach a queue's head and never count
 * as purged. So that a key re-set with a TTL in a loop cannot pile up nodes, the index
 * compacts itself (drops every stale node, O(nodes)) when nodes outnumber indexed
 * entries by more than two to one plus a slack; a compaction at least halves the nodes,
 * so its cost is amortized O(1) per write.
 */
export interface IndexedEntry {
  /** When the entry expires, in clock milliseconds. */
  deadline: number;
  /** True while the entry has a TTL and is in the store: only then do its nodes count. */
  indexed: boolean;
}

/** The nodes of one TTL, in deadline order; `head` is the first one not taken yet. */
interface Queue<T> {
  readonly ttl: number;
  deadlines: number[];
  entries: (T | undefined)[];
  head: number;
  /** Position in the heap of queues. */
  pos: number;
}

/** Stale nodes tolerated beyond twice the indexed entries before a compaction. */
const COMPACT_SLACK = 1024;
/** Taken slots at a queue's front are cut off in bulk once there are this many, and half. */
const TRIM_AT = 1024;

export class ExpiryIndex<T extends IndexedEntry> {
  readonly #byTtl = new Map<number, Queue<T>>();
  /** The non-empty queues: a binary min-heap by the deadline at their head. */
  #heap: Queue<T>[] = [];
  #nodes = 0;
  #indexed = 0;

  /** How many entries are indexed (stale nodes not counted). */
  get size(): number {
    return this.#indexed;
  }

  /** `entry.deadline` was just set to now + `ttlMs`: index it under that TTL. */
  schedule(entry: T, ttlMs: number): void {
    if (!entry.indexed) {
      entry.indexed = true;
      this.#indexed++;
    }
    let queue = this.#byTtl.get(ttlMs);
    if (queue === undefined) {
      queue = { ttl: ttlMs, deadlines: [], entries: [], head: 0, pos: -1 };
      this.#byTtl.set(ttlMs, queue);
    }
    const { deadlines, entries } = queue;
    const deadline = entry.deadline;
    const n = deadlines.length;
    if (n === queue.head || deadlines[n - 1]! <= deadline) {
      deadlines.push(deadline);
      entries.push(entry);
    } else {
      // Only a clock that went back gets here: keep the queue sorted all the same.
      let i = n;
      while (i > queue.head && deadlines[i - 1]! > deadline) i--;
      deadlines.splice(i, 0, deadline);
      entries.splice(i, 0, entry);
    }
    this.#nodes++;
    if (queue.pos < 0) this.#push(queue);
    else if (deadlines[queue.head] === deadline) this.#siftUp(queue.pos);
    if (this.#nodes > 2 * this.#indexed + COMPACT_SLACK) this.#compact();
  }

  /** The entry lost its TTL or left the store: its nodes go stale. */
  unschedule(entry: T): void {
    if (!entry.indexed) return;
    entry.indexed = false;
    this.#indexed--;
  }

  /**
   * The next entry whose deadline is `<= now`, taken out of the index (no longer
   * `indexed`), or `undefined` when none has expired. Soonest deadline first.
   */
  takeExpired(now: number): T | undefined {
    for (;;) {
      const queue = this.#heap[0];
      if (queue === undefined) return undefined;
      const deadline = queue.deadlines[queue.head]!;
      if (deadline > now) return undefined;
      const entry = queue.entries[queue.head]!;
      queue.entries[queue.head] = undefined; // the index no longer holds the entry alive
      queue.head++;
      this.#nodes--;
      this.#headMoved(queue);
      if (entry.indexed && entry.deadline === deadline) {
        entry.indexed = false;
        this.#indexed--;
        return entry;
      }
    }
  }

  clear(): void {
    for (const queue of this.#heap) {
      for (let i = queue.head; i < queue.entries.length; i++) {
        const entry = queue.entries[i];
        if (entry !== undefined) entry.indexed = false;
      }
    }
    this.#byTtl.clear();
    this.#heap = [];
    this.#nodes = 0;
    this.#indexed = 0;
  }

  /** `queue`'s head moved on: drop the queue when empty, trim its front, re-sift it. */
  #headMoved(queue: Queue<T>): void {
    const length = queue.deadlines.length;
    if (queue.head === length) {
      this.#remove(queue);
      return;
    }
    if (queue.head >= TRIM_AT && queue.head * 2 >= length) {
      queue.deadlines = queue.deadlines.slice(queue.head);
      queue.entries = queue.entries.slice(queue.head);
      queue.head = 0;
    }
    this.#siftDown(queue.pos);
  }

  /** Drops every stale node, and duplicates, keeping each queue in order. */
  #compact(): void {
    const kept = new Set<T>();
    for (const queue of [...this.#heap]) {
      const deadlines: number[] = [];
      const entries: T[] = [];
      for (let i = queue.head; i < queue.deadlines.length; i++) {
        const entry = queue.entries[i]!;
        const deadline = queue.deadlines[i]!;
        if (!entry.indexed || entry.deadline !== deadline || kept.has(entry)) continue;
        kept.add(entry);
        deadlines.push(deadline);
        entries.push(entry);
      }
      queue.deadlines = deadlines;
      queue.entries = entries;
      queue.head = 0;
      if (entries.length === 0) {
        this.#remove(queue);
      } else {
        this.#siftUp(queue.pos);
        this.#siftDown(queue.pos);
      }
    }
    this.#nodes = kept.size;
  }

  // The heap of queues, by head deadline: one node per TTL in use, small and hot.

  #push(queue: Queue<T>): void {
    queue.pos = this.#heap.length;
    this.#heap.push(queue);
    this.#siftUp(queue.pos);
  }

  #remove(queue: Queue<T>): void {
    this.#byTtl.delete(queue.ttl);
    const i = queue.pos;
    queue.pos = -1;
    const last = this.#heap.pop()!;
    if (last === queue) return;
    this.#heap[i] = last;
    last.pos = i;
    this.#siftUp(i);
    this.#siftDown(last.pos);
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    const queue = heap[start]!;
    const key = headOf(queue);
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (headOf(parent) <= key) break;
      heap[i] = parent;
      parent.pos = i;
      i = p;
    }
    heap[i] = queue;
    queue.pos = i;
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const queue = heap[start]!;
    const key = headOf(queue);
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && headOf(heap[child + 1]!) < headOf(heap[child]!)) child++;
      const next = heap[child]!;
      if (headOf(next) >= key) break;
      heap[i] = next;
      next.pos = i;
      i = child;
    }
    heap[i] = queue;
    queue.pos = i;
  }
}

function headOf<T>(queue: Queue<T>): number {
  return queue.deadlines[queue.head]!;
}
