/**
 * One proxied connection: the client's socket, the proxy's own connection to the server,
 * and the per-connection bookkeeping the faults need (which forwarded commands still owe
 * a reply, and what to do when each reply arrives).
 */
import { createConnection, type Socket } from "node:net";
import { type ReplyFrame, ReplyFramer, type RequestFrame, RequestFramer } from "./resp-framing.js";

export interface Address {
  host: string;
  port: number;
}

/** What happens to one request: forwarded as is, its reply dropped or held, or not forwarded at all. */
export type Decision = "none" | "drop" | "delay" | "reset";
/** What to do with the reply a forwarded command is owed. */
type Mark = Exclude<Decision, "reset">;

export interface ProxyStats {
  /** Client connections accepted (including those reset at once during `cut()`). */
  connections: number;
  /** Client connections open now. */
  open: number;
  /** Connections reset on accept because the proxy was cut. */
  refused: number;
  /** Complete commands forwarded to the server. */
  requests: number;
  /** Complete command replies forwarded to clients (RESP3 pushes not counted). */
  replies: number;
  /** Replies a `dropNextReply` (or random `dropReply`) fault cut the connection before. */
  repliesDropped: number;
  /** Requests a `resetNextRequest` (or random `resetRequest`) fault kept from the server. */
  requestsReset: number;
  /** Replies held back by a random `delayReply` fault. */
  repliesDelayed: number;
  /** Client connections the proxy reset (any fault, `cut`, `resetAll`, a black hole lifted). */
  resets: number;
  /** Bytes swallowed by `blackhole(true)`, both directions. */
  bytesSwallowed: number;
}

export interface LinkHost {
  readonly target: Address;
  readonly blackholed: boolean;
  /** Current `delayReplies` value. */
  readonly replyDelayMs: number;
  /** How long a random `delayReply` fault holds a reply. */
  readonly randomDelayMs: number;
  readonly stats: ProxyStats;
  /** The fault for the next complete command on a framed connection. */
  decide(frame: RequestFrame): Decision;
  unlink(link: Link): void;
}

/**
 * Commands after which replies stop being one per command (pub/sub, MONITOR, CLIENT
 * REPLY OFF/SKIP, replication): the connection is forwarded unframed from then on and
 * request-level faults no longer target it.
 */
function endsFraming(frame: RequestFrame): boolean {
  switch (frame.name) {
    case "SUBSCRIBE":
    case "PSUBSCRIBE":
    case "SSUBSCRIBE":
    case "MONITOR":
    case "SYNC":
    case "PSYNC":
      return true;
    case "CLIENT":
      return frame.sub === "REPLY";
    default:
      return false;
  }
}

/** RST rather than FIN: the peer sees ECONNRESET, as when a network path dies. */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export class Link {
  readonly client: Socket;
  readonly #server: Socket;
  readonly #host: LinkHost;
  readonly #up = new RequestFramer();
  readonly #down = new ReplyFramer();
  /** False once the connection is a plain pipe (see `endsFraming`, protocol errors). */
  #framed = true;
  /** One mark per forwarded command still owed a reply, oldest first. */
  readonly #owed: Mark[] = [];
  /** Replies framed but not yet forwarded (a random delay holds them). */
  readonly #frames: ReplyFrame[] = [];
  /** A random `delayReply` holds the replies until its timer runs. */
  #paused = false;
  #pauseTimer: NodeJS.Timeout | undefined;
  /** Server bytes held by `delayReplies`, each with the time it may go. */
  readonly #held: { data: Buffer; at: number }[] = [];
  #heldTimer: NodeJS.Timeout | undefined;
  /** A request is to be reset once the commands before it got their replies. */
  #resetWhenDrained = false;
  /** Bytes were swallowed by a black hole: the byte streams are no longer in step. */
  tainted = false;
  #serverGone = false;
  /** A reset is on its way: nothing more is forwarded in either direction. */
  #stopped = false;
  #done = false;

  constructor(client: Socket, host: LinkHost) {
    this.client = client;
    this.#host = host;
    client.setNoDelay(true);
    this.#server = createConnection({ host: host.target.host, port: host.target.port });
    this.#server.setNoDelay(true);
    client.on("data", (chunk: Buffer) => this.#fromClient(chunk));
    this.#server.on("data", (chunk: Buffer) => this.#fromServer(chunk));
    // Errors end in "close"; they need a listener so that they are not thrown.
    client.on("error", () => {});
    this.#server.on("error", () => {});
    client.on("close", () => this.#finish());
    this.#server.on("close", (hadError: boolean) => this.#serverClosed(hadError));
  }

  /** Resets the client (RST) and closes the server side. Idempotent. */
  reset(): void {
    if (this.#done) return;
    this.#host.stats.resets++;
    resetSocket(this.client);
    this.#finish();
  }

  /** Closes both sides at once (FIN). Idempotent. */
  destroy(): void {
    this.#server.destroy();
    this.client.destroy();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#pauseTimer);
    clearTimeout(this.#heldTimer);
    this.#held.length = 0;
    this.#frames.length = 0;
    // What was forwarded to the server still reaches it (a request written while the
    // connection to the server was still being set up is buffered in Node).
    if (this.#server.writableLength === 0) this.#server.destroy();
    else this.#server.end();
    this.client.destroy();
    this.#host.unlink(this);
  }

  // -------------------------------------------------------------------------------------
  // Client to server

  #fromClient(chunk: Buffer): void {
    if (this.#done || this.#stopped || this.#resetWhenDrained) return;
    if (this.#host.blackholed) {
      this.tainted = true;
      this.#host.stats.bytesSwallowed += chunk.length;
      return;
    }
    if (!this.#framed) {
      this.#server.write(chunk);
      return;
    }
    const out: Buffer[] = [];
    for (const frame of this.#up.push(chunk)) {
      if (!this.#framed || !frame.command) {
        out.push(frame.bytes);
        continue;
      }
      if (endsFraming(frame)) {
        this.#framed = false;
        out.push(frame.bytes);
        continue;
      }
      const decision = this.#host.decide(frame);
      if (decision === "reset") {
        // This request and everything pipelined after it never reach the server.
        this.#host.stats.requestsReset++;
        this.#resetWhenDrained = true;
        break;
      }
      this.#owed.push(decision);
      this.#host.stats.requests++;
      out.push(frame.bytes);
    }
    if (this.#up.failed) this.#framed = false;
    if (out.length > 0) this.#server.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (this.#resetWhenDrained) this.#resetIfDrained();
  }

  // -------------------------------------------------------------------------------------
  // Server to client

  #fromServer(chunk: Buffer): void {
    if (this.#done || this.#stopped) return;
    if (this.#host.blackholed) {
      this.tainted = true;
      this.#host.stats.bytesSwallowed += chunk.length;
      return;
    }
    const delay = this.#host.replyDelayMs;
    if (delay > 0 || this.#held.length > 0) {
      const last = this.#held.at(-1)?.at ?? 0;
      this.#held.push({ data: chunk, at: Math.max(performance.now() + delay, last) });
      this.#scheduleHeld();
      return;
    }
    this.#deliver(chunk);
  }

  #scheduleHeld(): void {
    if (this.#heldTimer !== undefined || this.#held.length === 0) return;
    const wait = Math.max(0, this.#held[0]!.at - performance.now());
    this.#heldTimer = setTimeout(() => {
      this.#heldTimer = undefined;
      while (
        !this.#done &&
        !this.#stopped &&
        this.#held.length > 0 &&
        this.#held[0]!.at <= performance.now()
      ) {
        this.#deliver(this.#held.shift()!.data);
      }
      if (this.#done || this.#stopped) return;
      this.#scheduleHeld();
      this.#endIfServerGone();
    }, wait);
  }

  #deliver(chunk: Buffer): void {
    if (!this.#framed && this.#frames.length === 0 && this.#down.buffered === 0) {
      this.client.write(chunk);
      return;
    }
    this.#frames.push(...this.#down.push(chunk));
    this.#pump();
  }

  /** Forwards framed replies in order, acting on each one's mark. */
  #pump(): void {
    if (this.#done || this.#stopped || this.#paused) return;
    const out: Buffer[] = [];
    const flush = () => {
      if (out.length === 0) return;
      this.client.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      out.length = 0;
    };
    while (this.#frames.length > 0) {
      const frame = this.#frames[0]!;
      if (frame.kind !== "reply" || !this.#framed) {
        out.push(frame.bytes);
        this.#frames.shift();
        continue;
      }
      const mark = this.#owed[0] ?? "none";
      if (mark === "drop") {
        this.#host.stats.repliesDropped++;
        flush();
        this.#resetAfterFlush();
        return;
      }
      if (mark === "delay") {
        this.#owed[0] = "none";
        this.#host.stats.repliesDelayed++;
        flush();
        // A flag, not a deadline: a timer may run a little before the clock says it is due.
        this.#paused = true;
        this.#pauseTimer = setTimeout(() => {
          this.#paused = false;
          this.#pump();
        }, this.#host.randomDelayMs);
        return;
      }
      this.#owed.shift();
      this.#host.stats.replies++;
      out.push(frame.bytes);
      this.#frames.shift();
    }
    flush();
    if (this.#resetWhenDrained) this.#resetIfDrained();
    this.#endIfServerGone();
  }

  #resetIfDrained(): void {
    if (this.#owed.length === 0) this.#resetAfterFlush();
  }

  /**
   * Stops forwarding, and resets once the bytes already written are with the kernel
   * (writes complete in order): an RST cannot take back the replies that came before.
   */
  #resetAfterFlush(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#frames.length = 0;
    this.client.write(Buffer.alloc(0), () => this.reset());
  }

  #serverClosed(hadError: boolean): void {
    this.#serverGone = true;
    if (this.#done || this.#stopped) return;
    // Behind a black hole the client cannot see the server go either.
    if (this.#host.blackholed) {
      this.tainted = true;
      return;
    }
    if (hadError) this.reset();
    else this.#endIfServerGone();
  }

  /** The server closed: FIN to the client once what it sent has been forwarded. */
  #endIfServerGone(): void {
    if (!this.#serverGone || this.#done || this.#stopped) return;
    if (this.#held.length > 0 || this.#frames.length > 0 || this.#paused) return;
    this.#stopped = true;
    this.client.end(() => this.#finish());
  }
}
