import { describe, expect, it } from "vitest";
import { type ReplyFrame, ReplyFramer, type RequestFrame, RequestFramer } from "../src/index.js";
import { encode } from "./helpers.js";

/** Feeds `input` in pieces of `size` bytes and collects every frame. */
function feed<F>(framer: { push(chunk: Buffer): F[] }, input: Buffer, size: number): F[] {
  const frames: F[] = [];
  for (let at = 0; at < input.length; at += size) {
    frames.push(...framer.push(input.subarray(at, at + size)));
  }
  return frames;
}

const pieceSizes = [1, 2, 3, 7, 64, 100_000];

describe("RequestFramer", () => {
  it("frames pipelined commands however the bytes are split", () => {
    const commands = Array.from({ length: 50 }, (_, i) => encode("INCR", `key:${i}`));
    commands.push(encode("SET", "k", "x".repeat(5000)), encode("EVALSHA", "abc", 0));
    const input = Buffer.concat(commands);
    for (const size of pieceSizes) {
      const frames = feed(new RequestFramer(), input, size);
      expect(frames).toHaveLength(52);
      expect(frames.every((f) => f.command)).toBe(true);
      expect(frames.map((f) => f.name)).toEqual([
        ...Array.from({ length: 50 }, () => "INCR"),
        "SET",
        "EVALSHA",
      ]);
      expect(Buffer.concat(frames.map((f) => f.bytes))).toEqual(input);
    }
  });

  it("frames inline commands, and counts neither empty lines nor *0 as commands", () => {
    const input = Buffer.from("PING\r\n\r\n  client reply off\r\n*0\r\nget k\n");
    for (const size of pieceSizes) {
      const frames: RequestFrame[] = feed(new RequestFramer(), input, size);
      expect(frames.map((f) => [f.command, f.name, f.sub])).toEqual([
        [true, "PING", ""],
        [false, "", ""],
        [true, "CLIENT", "REPLY"],
        [false, "", ""],
        [true, "GET", "K"],
      ]);
    }
  });

  it("holds back an incomplete command", () => {
    const framer = new RequestFramer();
    const bytes = encode("SET", "k", "value");
    expect(framer.push(bytes.subarray(0, bytes.length - 1))).toEqual([]);
    expect(framer.buffered).toBe(bytes.length - 1);
    expect(framer.push(bytes.subarray(bytes.length - 1))).toHaveLength(1);
    expect(framer.buffered).toBe(0);
  });

  it("gives up on bytes that are not RESP and passes them on unframed", () => {
    const framer = new RequestFramer();
    const frames = framer.push(Buffer.from("*1\r\n$4\r\nPING\r\n*x\r\nrest"));
    expect(framer.failed).toBe(true);
    expect(frames.map((f) => [f.command, f.bytes.toString()])).toEqual([
      [true, "*1\r\n$4\r\nPING\r\n"],
      [false, "*x\r\nrest"],
    ]);
    expect(framer.push(Buffer.from("more"))[0]!.bytes.toString()).toBe("more");
  });
});

describe("ReplyFramer", () => {
  const resp2 = [
    "+OK\r\n",
    "-ERR wrong\r\n",
    ":42\r\n",
    "$5\r\nhello\r\n",
    "$0\r\n\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*0\r\n",
    "*3\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n$-1\r\n",
    "$6\r\na\r\nb\r\n\r\n", // a bulk string holding CRLFs
  ];
  const resp3 = [
    "_\r\n",
    "#t\r\n",
    ",3.14\r\n",
    "(3492890328409238509324850943850943825024385\r\n",
    "!21\r\nSYNTAX invalid syntax\r\n",
    "=15\r\ntxt:Some string\r\n",
    "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
    "~2\r\n+a\r\n+b\r\n",
    "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039\r\n:9543\r\n", // attribute + array
  ];
  const push = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
  const attributedPush = "|1\r\n+a\r\n+b\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";

  it("frames every RESP2 and RESP3 type however the bytes are split", () => {
    const all = [...resp2, ...resp3];
    const input = Buffer.from(all.join(""));
    for (const size of pieceSizes) {
      const frames: ReplyFrame[] = feed(new ReplyFramer(), input, size);
      expect(frames.map((f) => f.bytes.toString())).toEqual(all);
      expect(frames.every((f) => f.kind === "reply")).toBe(true);
    }
  });

  it("tells RESP3 pushes from replies, attributes included", () => {
    const input = Buffer.from([":1\r\n", push, ":2\r\n", attributedPush, ":3\r\n"].join(""));
    for (const size of pieceSizes) {
      const frames: ReplyFrame[] = feed(new ReplyFramer(), input, size);
      expect(frames.map((f) => f.kind)).toEqual(["reply", "push", "reply", "push", "reply"]);
    }
  });

  it("gives up on an unknown type byte and passes the rest on unframed", () => {
    const framer = new ReplyFramer();
    const frames = framer.push(Buffer.from(":1\r\n@what\r\n"));
    expect(frames.map((f) => f.kind)).toEqual(["reply", "raw"]);
    expect(framer.failed).toBe(true);
  });
});
