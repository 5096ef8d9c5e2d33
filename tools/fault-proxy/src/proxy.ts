/**
 * The proxy: a loopback listener that forwards every connection to one target and
 * injects the faults a test asks for. See README.md for what each fault does.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  type Address,
  type Decision,
  Link,
  type LinkHost,
  type ProxyStats,
  resetSocket,
} from "./link.js";
import { seededRandom } from "./random.js";
import type { RequestFrame } from "./resp-framing.js";

const HOST = "127.0.0.1";

export interface StartProxyOptions {
  /** Where connections go: a loopback address (`127.0.0.1` or `localhost`). */
  target: Address;
}

export interface ArmOptions {
  /** Let this many (matching) requests through untouched first. Default 0. */
  skip?: number;
  /**
   * Only requests of these commands count (case-insensitive names: `["EVALSHA", "EVAL"]`);
   * others pass untouched. Default: every command.
   */
  commands?: readonly string[];
}

/** The faults `randomFaults` picks from. */
export type RandomFaultKind = "dropReply" | "resetRequest" | "delayReply";

export interface RandomFaultOptions {
  /** Same seed, same order of requests: the same faults. */
  seed: number;
  /** The probability, per request, of a fault (0..1). */
  rate: number;
  /** Default: `["dropReply", "resetRequest"]`. */
  kinds?: readonly RandomFaultKind[];
  /** How long a `delayReply` fault holds the reply (and those after it on its connection). Default 2000. */
  delayMs?: number;
  /** Only requests of these commands may get a fault. Default: every command. */
  commands?: readonly string[];
}

export interface FaultProxy {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly target: Readonly<Address>;
  /** A snapshot of the counters. */
  readonly stats: Readonly<ProxyStats>;
  /** Faults armed by `dropNextReply` / `resetNextRequest` that have not fired yet. */
  readonly armed: number;
  /**
   * The next `count` requests (after `options.skip`) are forwarded, and when the reply to
   * one of them arrives the client connection is reset instead: the command took effect,
   * the client never sees its reply. Replies before it are forwarded. Later requests
   * pipelined on the same connection lose their replies with it.
   */
  dropNextReply(count?: number, options?: ArmOptions): void;
  /**
   * The next request (after `options.skip`) is not forwarded; once the requests before
   * it on its connection have their replies, the client connection is reset. The
   * command, and anything pipelined after it, never reaches the server.
   */
  resetNextRequest(options?: ArmOptions): void;
  /** Holds every server-to-client byte for `ms` (order kept); `0` stops holding new bytes. */
  delayReplies(ms: number): void;
  /**
   * `true`: every byte in both directions is swallowed, connections (new ones too) stay
   * open, nothing answers. `false`: traffic flows again; connections that lost bytes are
   * reset (their two byte streams are out of step, as after a TCP timeout).
   */
  blackhole(on: boolean): void;
  /** Resets every connection and resets new ones on accept, until `restore()`. */
  cut(): void;
  /** Ends `cut()`. */
  restore(): void;
  /** Resets every current connection once (like `CLIENT KILL`); new ones are accepted. */
  resetAll(): void;
  /** Seeded random faults on every request from now on; `null` stops them. */
  randomFaults(options: RandomFaultOptions | null): void;
  /** Disarms everything: armed faults, delay, black hole, random faults, cut. */
  clearFaults(): void;
  /** Closes the listener and every connection. Idempotent. */
  close(): Promise<void>;
}

interface Armed {
  kind: "drop" | "reset";
  skip: number;
  remaining: number;
  commands: Set<string> | undefined;
}

interface RandomMode {
  next: () => number;
  rate: number;
  kinds: readonly RandomFaultKind[];
  commands: Set<string> | undefined;
}

const RANDOM_DECISION: Record<RandomFaultKind, Decision> = {
  dropReply: "drop",
  resetRequest: "reset",
  delayReply: "delay",
};

function commandSet(commands: readonly string[] | undefined): Set<string> | undefined {
  return commands === undefined ? undefined : new Set(commands.map((c) => c.toUpperCase()));
}

function nonNegativeInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`fault-proxy: ${what} must be a non-negative integer (got ${value})`);
  }
  return value;
}

function loopback(target: Address): Address {
  if (target.host !== HOST && target.host !== "localhost") {
    throw new Error(`fault-proxy: targets must be on ${HOST} (got ${target.host})`);
  }
  nonNegativeInteger(target.port, "target.port");
  return { host: HOST, port: target.port };
}

class LoopbackProxy implements FaultProxy {
  readonly host = HOST;
  readonly port: number;
  readonly url: string;
  readonly target: Address;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  readonly #stats: ProxyStats = {
    connections: 0,
    open: 0,
    refused: 0,
    requests: 0,
    replies: 0,
    repliesDropped: 0,
    requestsReset: 0,
    repliesDelayed: 0,
    resets: 0,
    bytesSwallowed: 0,
  };
  #armed: Armed[] = [];
  #random: RandomMode | undefined;
  #randomDelayMs = 2000;
  #delayMs = 0;
  #blackholed = false;
  #cut = false;
  #closing: Promise<void> | undefined;
  /** What the links see of the proxy. */
  readonly #linkHost: LinkHost;

  constructor(server: Server, port: number, target: Address) {
    this.#server = server;
    this.port = port;
    this.url = `redis://${HOST}:${port}`;
    this.target = target;
    const self = this;
    this.#linkHost = {
      target,
      stats: this.#stats,
      get blackholed() {
        return self.#blackholed;
      },
      get replyDelayMs() {
        return self.#delayMs;
      },
      get randomDelayMs() {
        return self.#randomDelayMs;
      },
      decide: (frame) => this.#decide(frame),
      unlink: (link) => {
        if (this.#links.delete(link)) this.#stats.open--;
      },
    };
    server.on("connection", (socket) => this.#accept(socket));
  }

  get stats(): Readonly<ProxyStats> {
    return { ...this.#stats };
  }

  get armed(): number {
    return this.#armed.reduce((sum, a) => sum + a.remaining, 0);
  }

  #accept(socket: Socket): void {
    this.#stats.connections++;
    socket.on("error", () => {});
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#cut) {
      this.#stats.refused++;
      resetSocket(socket);
      return;
    }
    this.#links.add(new Link(socket, this.#linkHost));
    this.#stats.open++;
  }

  #decide(frame: RequestFrame): Decision {
    let decision: Decision = "none";
    for (const armed of this.#armed) {
      if (armed.commands !== undefined && !armed.commands.has(frame.name)) continue;
      if (armed.skip > 0) {
        armed.skip--;
      } else if (decision === "none") {
        decision = armed.kind;
        armed.remaining--;
      }
    }
    if (decision !== "none") {
      this.#armed = this.#armed.filter((a) => a.remaining > 0);
      return decision;
    }
    const random = this.#random;
    if (random === undefined || random.kinds.length === 0) return "none";
    if (random.commands !== undefined && !random.commands.has(frame.name)) return "none";
    if (random.next() >= random.rate) return "none";
    const kind = random.kinds[Math.floor(random.next() * random.kinds.length)]!;
    return RANDOM_DECISION[kind];
  }

  dropNextReply(count = 1, options: ArmOptions = {}): void {
    this.#arm("drop", count, options);
  }

  resetNextRequest(options: ArmOptions = {}): void {
    this.#arm("reset", 1, options);
  }

  #arm(kind: Armed["kind"], count: number, options: ArmOptions): void {
    nonNegativeInteger(count, "count");
    if (count === 0) return;
    this.#armed.push({
      kind,
      skip: nonNegativeInteger(options.skip ?? 0, "skip"),
      remaining: count,
      commands: commandSet(options.commands),
    });
  }

  delayReplies(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`fault-proxy: delayReplies(ms) needs ms >= 0 (got ${ms})`);
    }
    this.#delayMs = ms;
  }

  blackhole(on: boolean): void {
    this.#blackholed = on;
    if (on) return;
    for (const link of [...this.#links]) if (link.tainted) link.reset();
  }

  cut(): void {
    this.#cut = true;
    this.resetAll();
  }

  restore(): void {
    this.#cut = false;
  }

  resetAll(): void {
    for (const link of [...this.#links]) link.reset();
  }

  randomFaults(options: RandomFaultOptions | null): void {
    if (options === null) {
      this.#random = undefined;
      return;
    }
    if (!(options.rate >= 0 && options.rate <= 1)) {
      throw new RangeError(`fault-proxy: rate must be in 0..1 (got ${options.rate})`);
    }
    this.#randomDelayMs = options.delayMs ?? 2000;
    this.#random = {
      next: seededRandom(options.seed),
      rate: options.rate,
      kinds: [...(options.kinds ?? ["dropReply", "resetRequest"])],
      commands: commandSet(options.commands),
    };
  }

  clearFaults(): void {
    this.#armed = [];
    this.#random = undefined;
    this.#delayMs = 0;
    this.blackhole(false);
    this.restore();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const link of [...this.#links]) link.destroy();
      this.#server.close(() => resolve());
    });
    return this.#closing;
  }
}

/** Starts a proxy to `target` on a free loopback port (the OS picks it: port 0). */
export function startProxy(options: StartProxyOptions): Promise<FaultProxy> {
  return new Promise((resolve, reject) => {
    const target = loopback(options.target); // a throw here rejects
    const server = createServer({ noDelay: true });
    server.once("error", reject);
    server.listen({ port: 0, host: HOST, exclusive: true }, () => {
      server.off("error", reject);
      server.on("error", () => {});
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("fault-proxy: the listener has no TCP address"));
        return;
      }
      resolve(new LoopbackProxy(server, address.port, target));
    });
  });
}
