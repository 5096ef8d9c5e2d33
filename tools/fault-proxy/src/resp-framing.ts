/**
 * Just enough RESP to find where each command and each reply ends: the proxy never
 * decodes values, it only counts complete frames so that a fault can hit "the reply of
 * the Nth request" on a pipelined connection.
 *
 * - Requests (client to server): RESP arrays of bulk strings (`*N` / `$len`), which is
 *   what every client library sends, and inline commands (`PING\r\n`) as redis-cli and
 *   telnet send them. Frames the server answers without a reply (`*0`, an empty inline
 *   line) are framed but not counted as commands.
 * - Replies (server to client): RESP2 and RESP3, every type. A RESP3 push (`>`) is framed
 *   but is not the reply to a command; an attribute (`|`) belongs to the reply after it.
 *
 * Both framers hold an incomplete frame back until its last byte has arrived. On bytes
 * that are not RESP they give up (`failed`): the proxy then forwards that connection
 * unframed, as a plain pipe.
 */

const CR = 0x0d;
const LF = 0x0a;
const MAX_DEPTH = 64;
/** Only short leading arguments (command names) are decoded. */
const NAME_MAX_BYTES = 64;

class ProtocolError extends Error {}

/** The integer on the line `buf[from..to)`, e.g. the `3` of `*3\r\n`. */
function lineInt(buf: Buffer, from: number, to: number): number {
  const text = buf.toString("latin1", from, to);
  if (!/^-?\d{1,15}$/.test(text)) throw new ProtocolError(`not a RESP length: ${text}`);
  return Number(text);
}

/** Where the `\r\n` that ends the line starting at `from` is, or -1 when not there yet. */
function crlf(buf: Buffer, from: number): number {
  const at = buf.indexOf(LF, from);
  if (at < 0) return -1;
  if (at === from || buf[at - 1] !== CR) throw new ProtocolError("line not ended by CRLF");
  return at - 1;
}

/** Incremental input: whole frames out, the incomplete tail kept for the next chunk. */
abstract class Framer<F> {
  #buf: Buffer = Buffer.alloc(0);
  /** Do not look again before the buffer holds this many bytes. */
  #need = 1;
  /** True once the input was not RESP; everything from then on is returned unframed. */
  failed = false;

  /** Adds a chunk and returns every frame it completed (in order). */
  push(chunk: Buffer): F[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: F[] = [];
    if (this.failed) {
      frames.push(this.raw(this.#take(this.#buf.length)));
      return frames;
    }
    while (this.#buf.length >= this.#need) {
      let result: F | number;
      try {
        result = this.scan(this.#buf);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.failed = true;
        frames.push(this.raw(this.#take(this.#buf.length)));
        break;
      }
      if (typeof result === "number") {
        this.#need = result;
        break;
      }
      frames.push(result);
      this.#need = 1;
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Takes the first `n` bytes off the buffer (for `scan`'s frames). */
  protected take(n: number): Buffer {
    return this.#take(n);
  }

  #take(n: number): Buffer {
    const head = this.#buf.subarray(0, n);
    this.#buf = n === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(n);
    return head;
  }

  /** One frame off the front of `buf` (via `take`), or the buffer length needed first. */
  protected abstract scan(buf: Buffer): F | number;
  /** A frame for bytes forwarded unframed. */
  protected abstract raw(bytes: Buffer): F;
}

// ---------------------------------------------------------------------------------------
// Requests

export interface RequestFrame {
  bytes: Buffer;
  /** False for frames the server answers with nothing (`*0`, an empty inline line) and for unframed bytes. */
  command: boolean;
  /** The command name, upper case ("INCR", "EVALSHA"); "" when not a command. */
  name: string;
  /** The second argument upper case when short ("REPLY" in CLIENT REPLY OFF), else "". */
  sub: string;
}

export class RequestFramer extends Framer<RequestFrame> {
  protected scan(buf: Buffer): RequestFrame | number {
    if (buf[0] !== 0x2a /* * */) return this.#inline(buf);
    const eol = crlf(buf, 0);
    if (eol < 0) return buf.length + 1;
    const n = lineInt(buf, 1, eol);
    let at = eol + 2;
    if (n <= 0) return { bytes: this.take(at), command: false, name: "", sub: "" };
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      if (at >= buf.length) return at + 1;
      if (buf[at] !== 0x24 /* $ */) throw new ProtocolError("expected a bulk string");
      const lenEnd = crlf(buf, at);
      if (lenEnd < 0) return buf.length + 1;
      const len = lineInt(buf, at + 1, lenEnd);
      if (len < 0) throw new ProtocolError("negative bulk length in a request");
      const start = lenEnd + 2;
      const end = start + len + 2;
      if (end > buf.length) return end;
      if (buf[end - 2] !== CR || buf[end - 1] !== LF) throw new ProtocolError("bulk not ended");
      if (i < 2) args.push(len <= NAME_MAX_BYTES ? buf.toString("latin1", start, start + len) : "");
      at = end;
    }
    return {
      bytes: this.take(at),
      command: true,
      name: (args[0] ?? "").toUpperCase(),
      sub: (args[1] ?? "").toUpperCase(),
    };
  }

  #inline(buf: Buffer): RequestFrame | number {
    const eol = buf.indexOf(LF);
    if (eol < 0) return buf.length + 1;
    const words = buf.toString("latin1", 0, eol).trim().split(/\s+/);
    const bytes = this.take(eol + 1);
    if (words[0] === "") return { bytes, command: false, name: "", sub: "" };
    return {
      bytes,
      command: true,
      name: (words[0] ?? "").toUpperCase(),
      sub: (words[1] ?? "").toUpperCase(),
    };
  }

  protected raw(bytes: Buffer): RequestFrame {
    return { bytes, command: false, name: "", sub: "" };
  }
}

// ---------------------------------------------------------------------------------------
// Replies

export interface ReplyFrame {
  bytes: Buffer;
  /**
   * "reply": answers the oldest command still owed one. "push": a RESP3 out-of-band
   * message (pub/sub, client-side caching invalidation), no command's reply. "raw":
   * bytes forwarded unframed (after a protocol error).
   */
  kind: "reply" | "push" | "raw";
}

/** The end of the value starting at `at`, or -(length needed) when it is incomplete. */
function scanValue(buf: Buffer, at: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new ProtocolError("nested too deep");
  if (at >= buf.length) return -(at + 1);
  const type = buf[at];
  const eol = crlf(buf, at);
  if (eol < 0) return -(buf.length + 1);
  const next = eol + 2;
  switch (type) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
    case 0x5f: // _ null
    case 0x23: // # boolean
    case 0x2c: // , double
    case 0x28: // ( big number
      return next;
    case 0x24: // $ bulk string
    case 0x21: // ! bulk error
    case 0x3d: {
      // = verbatim string
      const len = lineInt(buf, at + 1, eol);
      if (len < 0) return next; // RESP2 null bulk
      const end = next + len + 2;
      if (end > buf.length) return -end;
      if (buf[end - 2] !== CR || buf[end - 1] !== LF) throw new ProtocolError("bulk not ended");
      return end;
    }
    case 0x2a: // * array
    case 0x7e: // ~ set
    case 0x3e: // > push
    case 0x25: // % map
    case 0x7c: {
      // | attribute: a map, then the value it describes
      const n = lineInt(buf, at + 1, eol);
      if (n < 0) return next; // RESP2 null array
      const items = type === 0x25 || type === 0x7c ? 2 * n : n;
      let end = next;
      for (let i = 0; i < items; i++) {
        end = scanValue(buf, end, depth + 1);
        if (end < 0) return end;
      }
      return type === 0x7c ? scanValue(buf, end, depth + 1) : end;
    }
    default:
      throw new ProtocolError(`unknown RESP type byte ${type}`);
  }
}

/** The type byte of the value at `at` once leading attributes are skipped (0 if not there yet). */
function typeAfterAttributes(buf: Buffer, at: number): number {
  let p = at;
  while (buf[p] === 0x7c /* | */) {
    const eol = crlf(buf, p);
    if (eol < 0) return 0;
    const n = lineInt(buf, p + 1, eol);
    p = eol + 2;
    for (let i = 0; i < 2 * n; i++) {
      p = scanValue(buf, p, 1);
      if (p < 0) return 0;
    }
  }
  return buf[p] ?? 0;
}

export class ReplyFramer extends Framer<ReplyFrame> {
  protected scan(buf: Buffer): ReplyFrame | number {
    const end = scanValue(buf, 0, 0);
    if (end < 0) return -end;
    const kind = typeAfterAttributes(buf, 0) === 0x3e /* > */ ? "push" : "reply";
    return { bytes: this.take(end), kind };
  }

  protected raw(bytes: Buffer): ReplyFrame {
    return { bytes, kind: "raw" };
  }
}
