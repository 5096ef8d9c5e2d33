import type { Redis } from "ioredis";
import type { Link } from "../connection/link.js";

/** How long one reading of the server's clock is used before it is read again. */
const CLOCK_READ_EVERY_MS = 60_000;
/** How far this process's two clocks may drift apart before the reading is taken again. */
const CLOCKS_DISAGREE_MS = 1000;

/**
 * The server's clock as this process can tell it without asking, for the lease ends of
 * pops (scripts/list-pop.lua.ts `IN_FLIGHT`). Every backend on the server compares a
 * lease end with the server's own TIME, so lease ends are in server milliseconds; reading
 * TIME inside each pop's script cost the server about 2 µs a pop.
 *
 * So the backend reads TIME once per connection and then once a minute (on the first pop
 * after the minute, never on a timer), and counts forward on its own clocks in between.
 * The reading is never early: the server read its clock somewhere between the moment the
 * command left and the moment its reply came back, and the estimate takes the first, so
 * it runs ahead of the server by at most one round trip (plus the clocks' drift over a
 * minute: parts per million). It counts forward on both of this process's clocks and
 * takes the later: the monotonic one stands still while the machine is suspended or the
 * VM paused (the server's clock does not), the wall clock can be stepped back. A lease
 * end computed from it is never before the server's time at the send + the lease; and
 * since a pop whose reply came back ran within the call's budget of its send, it is
 * reserved at least `popLeaseMs - commandTimeoutMs` after it ran (the lease's minimum
 * covers that). When the two clocks disagree by more than a second, the reading is
 * taken again.
 *
 * No reading yet (a connection just made or remade: the server may be another machine
 * now), a failed reading, or a Cluster (a slot may move to a node with another clock):
 * `leaseEnd` answers "" and the pop's script reads TIME itself.
 */
export class ServerClock {
  /** Server ms minus `performance.now()`, an upper bound; undefined: no reading. */
  #monotonicOffset: number | undefined;
  /** Server ms minus `Date.now()`, an upper bound (with the one above). */
  #wallOffset = 0;
  /** When the last reading was asked for (`performance.now()`). */
  #askedAt = Number.NEGATIVE_INFINITY;
  #reading = false;
  readonly #unsubscribe: () => void;

  constructor(private readonly link: Link) {
    this.#unsubscribe = link.onReady(() => {
      this.#monotonicOffset = undefined;
      this.#askedAt = Number.NEGATIVE_INFINITY;
      this.#read();
    });
  }

  /** The server time `leaseMs` from now, in whole ms as text, or "" when not known. */
  leaseEnd(leaseMs: number): string {
    const now = performance.now();
    if (now - this.#askedAt >= CLOCK_READ_EVERY_MS) this.#read();
    const offset = this.#monotonicOffset;
    if (offset === undefined) return "";
    const byMonotonic = now + offset;
    const byWall = Date.now() + this.#wallOffset;
    if (Math.abs(byMonotonic - byWall) > CLOCKS_DISAGREE_MS) this.#read();
    return String(Math.ceil(Math.max(byMonotonic, byWall)) + leaseMs);
  }

  #read(): void {
    const client = this.link.client;
    if (this.#reading || client.isCluster || !this.link.isReady) return;
    this.#reading = true;
    const asked = performance.now();
    const askedWall = Date.now();
    this.#askedAt = asked;
    (client as Redis).time().then(
      ([seconds, micros]) => {
        this.#reading = false;
        // A reading that came back over a reconnection belongs to the old connection.
        if (this.#askedAt !== asked) return;
        const serverMs = Number(seconds) * 1000 + Number(micros) / 1000;
        this.#monotonicOffset = serverMs - asked;
        this.#wallOffset = serverMs - askedWall;
      },
      () => {
        // Unknown until the next try (the next reconnection, or a minute from now):
        // meanwhile the scripts read TIME.
        this.#reading = false;
        this.#monotonicOffset = undefined;
      },
    );
  }

  close(): void {
    this.#unsubscribe();
  }
}
