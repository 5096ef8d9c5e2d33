import { isKVError } from "@kv/core";
import { describe, expect, it } from "vitest";
import { readOptions } from "../src/options.js";
import { parseKVUrl, redactUrl } from "../src/url.js";

function parseError(text: string): Error {
  try {
    parseKVUrl(text);
  } catch (err) {
    expect(isKVError(err, "KV_INVALID_ARGUMENT")).toBe(true);
    return err as Error;
  }
  throw new Error(`parseKVUrl(${JSON.stringify(text)}) did not throw`);
}

describe("parseKVUrl", () => {
  it("parses memory:// and its query", () => {
    const url = parseKVUrl("memory://?maxValueBytes=1024");
    expect(url).toMatchObject({
      scheme: "memory",
      username: "",
      password: "",
      hosts: [],
      path: "",
    });
    expect([...url.params]).toEqual([["maxValueBytes", "1024"]]);
  });

  it("parses redis:// with credentials, port, database and query", () => {
    const url = parseKVUrl("redis://app:s3cret@cache.internal:6380/2?prefix=app:");
    expect(url).toMatchObject({
      scheme: "redis",
      username: "app",
      password: "s3cret",
      hosts: [{ host: "cache.internal", port: 6380 }],
      path: "/2",
    });
    expect(url.params.get("prefix")).toBe("app:");
    expect(url.redacted).toBe("redis://app:***@cache.internal:6380/2?prefix=app:");
  });

  it("leaves the port undefined when none is given, and lower-cases the scheme", () => {
    expect(parseKVUrl("REDIS://localhost").hosts).toEqual([{ host: "localhost", port: undefined }]);
    expect(parseKVUrl("REDIS://localhost").scheme).toBe("redis");
  });

  it("parses a password-only userinfo (redis://:password@host)", () => {
    const url = parseKVUrl("rediss://:pa%40ss%2Fword@h:6379");
    expect(url).toMatchObject({ scheme: "rediss", username: "", password: "pa@ss/word" });
    expect(url.redacted).toBe("rediss://:***@h:6379");
  });

  it("parses the node list of redis-cluster://, IPv6 included", () => {
    const url = parseKVUrl("redis-cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002?prefix=p");
    expect(url.hosts).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
  });

  it("keeps a custom scheme's path as it is", () => {
    expect(parseKVUrl("sqlite:///var/lib/kv.db")).toMatchObject({
      scheme: "sqlite",
      hosts: [],
      path: "/var/lib/kv.db",
    });
  });

  it("rejects what is not a URL, a bad port, a bad host list", () => {
    expect(parseError("localhost:6379").message).toBe(
      'createKV: a KV URL starts with a scheme and :// (for example memory:// or redis://host:6379) (got "localhost:6379")',
    );
    expect(parseError("redis://h:99999").message).toBe(
      'createKV: a port must be an integer from 1 to 65535 (got "redis://h:99999")',
    );
    expect(parseError("redis-cluster://a:1,,b:2").message).toMatch(
      /each host must be host or host:port/,
    );
    expect(parseError("redis://u:%zz@h").message).toBe(
      'createKV: the password in the URL is not valid percent-encoding (got "redis://u:***@h")',
    );
  });

  it("never shows the password of a URL it cannot parse", () => {
    for (const text of [
      "redis://user:hunter2/x@host:6379", // unencoded "/" in the password
      "redis://user:hunter2@host:port",
      "redis://user:hunter2@host:6379/0?timeoutMs=x&password=hunter2",
      "user:hunter2@host",
      "redis://user:hun?ter2@host",
      "redis://user:hun#ter2@host",
    ]) {
      let message = "";
      try {
        readOptions(parseKVUrl(text), { timeoutMs: "integer" });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^createKV: /);
      expect(message).not.toContain("hunter2");
    }
  });
});

describe("redactUrl", () => {
  it("hides the password and secret-looking query values, and nothing else", () => {
    expect(redactUrl("redis://u:p@h:1/0?prefix=a&token=t&authPass=x")).toBe(
      "redis://u:***@h:1/0?prefix=a&token=***&authPass=***",
    );
    expect(redactUrl("redis://u@h")).toBe("redis://u@h");
    expect(redactUrl("memory://")).toBe("memory://");
    expect(redactUrl("redis://u:p@ss@h")).toBe("redis://u:***@h");
    expect(redactUrl("redis://u:p/ss@h/0")).toBe("redis://u:***@h/0");
    expect(redactUrl("redis://u:p?ss@h")).toBe("redis://u:***@h");
    expect(redactUrl("redis://u:p#ss@h")).toBe("redis://u:***@h");
    expect(redactUrl("u:p@h")).toBe("u:***@h");
    // An @ in a query value is not userinfo.
    expect(redactUrl("redis://h:6379?prefix=a@b")).toBe("redis://h:6379?prefix=a@b");
  });
});

describe("readOptions", () => {
  const spec = {
    count: "integer",
    ratio: "number",
    interval: "number|false",
    flag: "boolean",
    name: "string",
  } as const;
  const read = (query: string) => readOptions(parseKVUrl(`x://?${query}`), spec);
  const fail = (query: string): string => {
    try {
      read(query);
    } catch (err) {
      expect(isKVError(err, "KV_INVALID_ARGUMENT")).toBe(true);
      return (err as Error).message;
    }
    throw new Error(`${query} was accepted`);
  };

  it("parses each type and leaves absent options out", () => {
    expect(read("count=10&ratio=0.5&interval=false&flag=true&name=a%20b")).toEqual({
      count: 10,
      ratio: 0.5,
      interval: false,
      flag: true,
      name: "a b",
    });
    expect(read("interval=2.5")).toEqual({ interval: 2.5 });
    expect(read("")).toEqual({});
  });

  it("parses numbers strictly", () => {
    for (const bad of [
      "",
      " 1",
      "1 ",
      "1e3",
      "0x10",
      "+1",
      "-1",
      "01",
      "1.",
      "Infinity",
      "NaN",
      "9007199254740993",
    ]) {
      expect(fail(`count=${encodeURIComponent(bad)}`)).toMatch(
        /option count must be a non-negative integer/,
      );
    }
    expect(fail("ratio=.5")).toBe(
      'createKV: option ratio must be a non-negative number (got ".5" in "x://?ratio=.5")',
    );
    expect(fail("flag=yes")).toMatch(/option flag must be true or false \(got "yes"/);
    expect(fail("interval=off")).toMatch(/option interval must be a non-negative number or false/);
  });

  it("rejects an unknown or repeated option, listing the valid ones", () => {
    expect(fail("colour=red")).toBe(
      'createKV: unknown option for x://, valid options: count, ratio, interval, flag, name (got "colour" in "x://?colour=red")',
    );
    expect(fail("count=1&count=2")).toBe(
      'createKV: each option may be given once (got "count" twice in "x://?count=1&count=2")',
    );
  });
});
