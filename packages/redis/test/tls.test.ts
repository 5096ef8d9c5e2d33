import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isKVError } from "@kv/core";
import { freePort, type RedisServer, startRedis } from "@kv/redis-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/index.js";
import { haveRedis } from "./helpers.js";

// A self-signed certificate for 127.0.0.1, valid until 2126, made for these tests only.
const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));
const cert = fixture("tls-cert.pem");
const key = fixture("tls-key.pem");

describe.skipIf(!haveRedis)("rediss:// (TLS)", () => {
  let server: RedisServer;
  let tlsPort: number;

  beforeAll(async () => {
    tlsPort = await freePort();
    server = await startRedis({
      args: [
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        cert,
        "--tls-key-file",
        key,
        "--tls-ca-cert-file",
        cert,
        "--tls-auth-clients",
        "no",
        "--requirepass",
        "tls-secret",
      ],
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects over TLS with the caller's CA", async () => {
    const kv = new RedisBackend({
      url: `rediss://:tls-secret@127.0.0.1:${tlsPort}?prefix=tls:`,
      redisOptions: { tls: { ca: readFileSync(cert) } },
    });
    await kv.set("k", { over: "tls" });
    expect(await kv.get("k")).toEqual({ over: "tls" });
    expect(await kv.listAppendUnique("l", [{ id: 1 }])).toEqual([{ id: 1 }]);
    await kv.close();
  });

  it("refuses a certificate it cannot verify: KV_UNAVAILABLE, no password shown", async () => {
    const kv = new RedisBackend({
      url: `rediss://:tls-secret@127.0.0.1:${tlsPort}`,
      commandTimeoutMs: 2000,
    });
    const err = await kv.get("k").catch((e: unknown) => e);
    expect(isKVError(err, "KV_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toMatch(/certificate/i);
    expect((err as Error).message).not.toContain("tls-secret");
    await kv.close();
  });
});
