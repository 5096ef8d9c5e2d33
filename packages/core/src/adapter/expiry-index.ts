/**
 * The expiry index of an in-process engine: finds the entries whose deadline has passed,
 * soonest first, so that `purgeExpired(limit)` costs work in proportion to `limit`, not
 * to the store's size. Used by @kv/memory (items: its entry objects) and @kv/lru (items:
 * keys, checked against lru-cache); offered to adapter authors.
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
 * ## A hint, checked by the owner
 * A node is `(deadline, item)` and is never updated: when the key is deleted, overwritten,
 * evicted or given a new TTL, its old node goes stale. The owner says which nodes still
 * count with `isCurrent(item, deadline)` (e.g. "the entry still has this very deadline
 * and is still in the store"); stale nodes are dropped when they reach a queue's head and
 * never count. Taking an item must make its node stale (the owner removes the entry), so
 * a duplicate node of the same item never counts twice.
 *
 * So that a key re-set with a TTL in a loop cannot pile up nodes, the index compacts
 * itself (drops every stale node) once nodes outnumber the entries the owner holds by
 * more than two to one plus a slack. Compaction is incremental, never a pause: each
 * `add` then also compacts `COMPACT_STEP` nodes, in place, queue after queue, so the
 * compaction ends before the nodes could double again, and costs O(1) per write. In a
 * queue being compacted the nodes are `[head, w)` (kept) then `[r, length)` (not looked
 * at yet); the slots between are garbage, and the head is never among the slots a step
 * writes. The owner must not add a second node for an item with the deadline it already
 * has (both would be current): a compaction keeps every current node.
 */

/** The nodes of one TTL, in deadline order; `head` is the first one not taken yet. */
interface Queue<T> {
  readonly ttl: number;
  deadlines: number[];
  items: (T | undefined)[];
  head: number;
  /** Position in the heap of queues; -1 when not in it. */
  pos: number;
  /** While the queue is being compacted: the next slot a kept node goes to (> head). */
  w: number;
  /** While the queue is being compacted: the next node to look at; -1 otherwise. */
  r: number;
}

/** Stale nodes tolerated beyond twice the entries held before a compaction. */
const COMPACT_SLACK = 1024;
/** Nodes a compaction looks at per `add` while it runs. */
const COMPACT_STEP = 8;
/** Taken slots at a queue's front are cut off in bulk once there are this many, and half. */
const TRIM_AT = 1024;

export class ExpiryIndex<T> {
  readonly #isCurrent: (item: T, deadline: number) => boolean;
  readonly #byTtl = new Map<number, Queue<T>>();
  /** The non-empty queues: a binary min-heap by the deadline at their head. */
  #heap: Queue<T>[] = [];
  #nodes = 0;
  readonly #slack: number;
  /** The queues a running compaction has still to go through (the first one is under way). */
  #compacting: Queue<T>[] = [];

  /**
   * @param isCurrent whether the node `(item, deadline)` still counts: the item is still
   *   stored with exactly that deadline. Called on nodes that reach a queue's head and
   *   during compaction.
   * @param options.slack stale nodes tolerated beyond twice the entries held (tests set it low).
   */
  constructor(isCurrent: (item: T, deadline: number) => boolean, options: { slack?: number } = {}) {
    this.#isCurrent = isCurrent;
    this.#slack = options.slack ?? COMPACT_SLACK;
  }

  /** Nodes held, stale ones included. */
  get nodes(): number {
    return this.#nodes;
  }

  /** The earliest deadline of any node (stale ones included); `Infinity` when empty. */
  nextDeadline(): number {
    const queue = this.#heap[0];
    return queue === undefined ? Number.POSITIVE_INFINITY : queue.deadlines[queue.head]!;
  }

  /**
   * `item` now expires at `deadline`, set `ttlMs` from now. `held` is how many entries
   * the owner stores (the yardstick for compaction).
   */
  add(item: T, deadline: number, ttlMs: number, held: number): void {
    let queue = this.#byTtl.get(ttlMs);
    if (queue === undefined) {
      queue = { ttl: ttlMs, deadlines: [], items: [], head: 0, pos: -1, w: 0, r: -1 };
      this.#byTtl.set(ttlMs, queue);
    }
    const { deadlines, items } = queue;
    const n = deadlines.length;
    if (n === queue.head || deadlines[n - 1]! <= deadline) {
      deadlines.push(deadline);
      items.push(item);
    } else {
      // Only a clock that went back gets here: keep the queue sorted all the same (after
      // finishing its compaction, if one is under way: the splice needs no gap).
      if (queue.r >= 0) this.#finishQueue(queue);
      let i = deadlines.length;
      while (i > queue.head && deadlines[i - 1]! > deadline) i--;
      deadlines.splice(i, 0, deadline);
      items.splice(i, 0, item);
    }
    this.#nodes++;
    if (queue.pos < 0) this.#push(queue);
    else if (queue.deadlines[queue.head] === deadline) this.#siftUp(queue.pos);
    if (this.#compacting.length > 0) this.#step(COMPACT_STEP);
    else if (this.#nodes > 2 * held + this.#slack) this.#startCompaction();
  }

  /**
   * The item of the next current node whose deadline is `<= now`, taken out of the
   * index, or `undefined` when none has expired; soonest deadline first. The caller
   * removes the entry (which makes any other node of it stale).
   */
  takeExpired(now: number): T | undefined {
    for (;;) {
      const queue = this.#heap[0];
      if (queue === undefined) return undefined;
      const deadline = queue.deadlines[queue.head]!;
      if (deadline > now) return undefined;
      const item = queue.items[queue.head]!;
      queue.items[queue.head] = undefined; // the index no longer holds the item alive
      queue.head++;
      this.#nodes--;
      this.#headMoved(queue);
      if (this.#isCurrent(item, deadline)) return item;
    }
  }

  /** Drops every stale node now, keeping each queue in order: O(nodes) (for tests). */
  compact(): void {
    if (this.#compacting.length === 0) this.#startCompaction();
    this.#step(Number.POSITIVE_INFINITY);
  }

  /** Whether a compaction is under way. */
  get compacting(): boolean {
    return this.#compacting.length > 0;
  }

  #startCompaction(): void {
    for (const queue of this.#heap) {
      // The head stays where it is: a step never writes its slot.
      queue.w = queue.head + 1;
      queue.r = queue.head + 1;
    }
    this.#compacting = [...this.#heap];
  }

  /** Looks at up to `budget` nodes of the queues being compacted. */
  #step(budget: number): void {
    const isCurrent = this.#isCurrent;
    const list = this.#compacting;
    while (budget > 0 && list.length > 0) {
      const queue = list[list.length - 1]!;
      if (queue.r < 0) {
        list.pop(); // emptied (and dropped) or finished meanwhile
        continue;
      }
      const { deadlines, items } = queue;
      const length = deadlines.length;
      let { w, r } = queue;
      while (budget > 0 && r < length) {
        budget--;
        const item = items[r]!;
        const deadline = deadlines[r]!;
        if (isCurrent(item, deadline)) {
          deadlines[w] = deadline;
          items[w] = item;
          w++;
        } else {
          this.#nodes--;
        }
        r++;
      }
      queue.w = w;
      queue.r = r;
      if (r === length) {
        this.#finishQueue(queue);
        list.pop();
      }
    }
  }

  /** Ends `queue`'s compaction: what is left unexamined is kept; the garbage goes. */
  #finishQueue(queue: Queue<T>): void {
    const { w, r } = queue;
    if (r < 0) return;
    if (w < r) {
      queue.deadlines.copyWithin(w, r);
      queue.items.copyWithin(w, r);
      const length = queue.deadlines.length - (r - w);
      queue.deadlines.length = length;
      queue.items.length = length;
    }
    queue.r = -1;
  }

  /** The items of every node, stale ones and duplicates included, in no order. */
  *items(): IterableIterator<T> {
    for (const queue of this.#heap) {
      const gapEnd = queue.r < 0 ? queue.head : queue.r;
      const gapStart = queue.r < 0 ? queue.head : queue.w;
      for (let i = queue.head; i < queue.items.length; i++) {
        if (i >= gapStart && i < gapEnd) i = gapEnd;
        if (i < queue.items.length) yield queue.items[i]!;
      }
    }
  }

  clear(): void {
    this.#byTtl.clear();
    this.#heap = [];
    this.#nodes = 0;
    this.#compacting = [];
  }

  /** `queue`'s head moved on: drop the queue when empty, trim its front, re-sift it. */
  #headMoved(queue: Queue<T>): void {
    if (queue.r >= 0 && queue.head === queue.w) {
      // The kept part is used up: the next node is the first one not looked at yet,
      // which becomes the head (the compaction goes on after it).
      queue.head = queue.r;
      queue.w = queue.r + 1;
      queue.r = queue.r + 1;
      if (queue.head === queue.deadlines.length) queue.r = -1;
    }
    const length = queue.deadlines.length;
    if (queue.head === length) {
      queue.r = -1;
      this.#remove(queue);
      return;
    }
    if (queue.r < 0 && queue.head >= TRIM_AT && queue.head * 2 >= length) {
      queue.deadlines = queue.deadlines.slice(queue.head);
      queue.items = queue.items.slice(queue.head);
      queue.head = 0;
    }
    this.#siftDown(queue.pos);
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
