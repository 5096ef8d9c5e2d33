import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpiryHeap, type HeapEntry } from "../src/expiry-heap.js";

interface Node extends HeapEntry {
  id: number;
}

/** Every parent's deadline is <= its children's, and every node knows its slot. */
function assertHeap(heap: ExpiryHeap<Node>, tracked: Set<Node>): void {
  const nodes: Node[] = [];
  while (heap.peek() !== undefined) {
    const top = heap.peek()!;
    heap.remove(top);
    nodes.push(top);
  }
  expect(nodes.length).toBe(tracked.size);
  for (let i = 1; i < nodes.length; i++) {
    expect(nodes[i]!.deadline).toBeGreaterThanOrEqual(nodes[i - 1]!.deadline);
  }
  for (const node of nodes) {
    expect(tracked.has(node)).toBe(true);
    heap.track(node);
  }
}

describe("ExpiryHeap", () => {
  it("pops in deadline order and follows every change of deadline", () => {
    const deadline = fc.oneof(
      fc.integer({ min: 0, max: 50 }),
      fc.constant(Number.POSITIVE_INFINITY),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant("track" as const), id: fc.nat(15), deadline }),
      fc.record({ kind: fc.constant("remove" as const), id: fc.nat(15) }),
      fc.record({ kind: fc.constant("pop" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const heap = new ExpiryHeap<Node>();
        const nodes = Array.from({ length: 16 }, (_, id): Node => ({ id, deadline: 0, slot: -1 }));
        const tracked = new Set<Node>();
        for (const o of ops) {
          if (o.kind === "track") {
            const node = nodes[o.id]!;
            node.deadline = o.deadline;
            heap.track(node);
            if (o.deadline === Number.POSITIVE_INFINITY) tracked.delete(node);
            else tracked.add(node);
          } else if (o.kind === "remove") {
            heap.remove(nodes[o.id]!);
            tracked.delete(nodes[o.id]!);
          } else {
            const top = heap.peek();
            const min = Math.min(...[...tracked].map((n) => n.deadline));
            if (top === undefined) expect(tracked.size).toBe(0);
            else {
              expect(top.deadline).toBe(min);
              heap.remove(top);
              tracked.delete(top);
            }
          }
          expect(heap.size).toBe(tracked.size);
          for (const node of nodes) expect(node.slot >= 0).toBe(tracked.has(node));
        }
        assertHeap(heap, tracked);
      }),
    );
  });
});
