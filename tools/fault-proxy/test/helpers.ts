import { createConnection } from "node:net";
import { ReplyFramer } from "../src/index.js";

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, or fails after `withinMs` (generous: busy machines). */
export async function until(check: () => boolean | Promise<boolean>, withinMs = 20_000) {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await sleep(10);
  }
}

let counter = 0;
export function uniqueKey(label = "k"): string {
  return `fp:${label}:${process.pid}:${++counter}`;
}

/** One command as a RESP array of bulk strings. */
export function encode(...args: (string | number)[]): Buffer {
  let frame = `*${args.length}\r\n`;
  for (const arg of args.map(String)) frame += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return Buffer.from(frame);
}

export interface RawConnection {
  write(data: Buffer | string): void;
  /** Every frame received so far, as text, in order. */
  readonly frames: string[];
  /** Only the replies (RESP3 pushes left out). */
  readonly replies: string[];
  /** Resolves when the socket closes, with the error code if it ended with one ("ECONNRESET"). */
  readonly closed: Promise<string | undefined>;
  readonly isClosed: boolean;
  close(): void;
}

/**
 * A bare TCP connection that records what comes back, frame by frame: to count exactly
 * which replies of a pipeline a client saw, with no client library in between.
 */
export function rawConnection(port: number): RawConnection {
  const socket = createConnection({ port, host: "127.0.0.1" });
  const framer = new ReplyFramer();
  const frames: string[] = [];
  const replies: string[] = [];
  let error: string | undefined;
  let isClosed = false;
  socket.on("error", (err: NodeJS.ErrnoException) => {
    error = err.code ?? err.message;
  });
  socket.on("data", (chunk: Buffer) => {
    for (const frame of framer.push(chunk)) {
      const text = frame.bytes.toString("utf8");
      frames.push(text);
      if (frame.kind !== "push") replies.push(text);
    }
  });
  const closed = new Promise<string | undefined>((resolve) =>
    socket.on("close", () => {
      isClosed = true;
      resolve(error);
    }),
  );
  return {
    write: (data) => socket.write(data),
    frames,
    replies,
    closed,
    get isClosed() {
      return isClosed;
    },
    close: () => socket.destroy(),
  };
}

/** The integer of a `:N\r\n` reply. */
export function integer(reply: string | undefined): number {
  const match = /^:(-?\d+)\r\n$/.exec(reply ?? "");
  if (match === null) throw new Error(`not an integer reply: ${JSON.stringify(reply)}`);
  return Number(match[1]);
}
