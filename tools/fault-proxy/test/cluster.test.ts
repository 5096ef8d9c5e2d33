import {
  type RedisCluster,
  redisCommand,
  requireRedisOrSkip,
  startRedisCluster,
} from "@kv/redis-harness";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterProxies, startClusterProxies } from "../src/index.js";
import { sleep, uniqueKey } from "./helpers.js";

const { available } = requireRedisOrSkip();

describe.skipIf(!available)("cluster proxies", () => {
  let cluster: RedisCluster;
  let proxies: ClusterProxies;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    proxies = await startClusterProxies(cluster.nodes);
    client = new Cluster(proxies.startupNodes, {
      natMap: proxies.natMap,
      // Keep retries short so that a cut node fails its commands well within the test.
      retryDelayOnClusterDown: 100,
      retryDelayOnFailover: 100,
      retryDelayOnTryAgain: 100,
      redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1, connectTimeout: 1000 },
    });
    client.on("error", () => {});
  });
  afterAll(async () => {
    client?.disconnect();
    await proxies?.close();
    await cluster?.stop();
  });

  /** The real port of the master that holds `key`. */
  async function nodeOf(key: string): Promise<number> {
    const slot = Number(await redisCommand(cluster.nodes[0]!.port, "CLUSTER", "KEYSLOT", key));
    const ranges = (await redisCommand(cluster.nodes[0]!.port, "CLUSTER", "SLOTS")) as [
      number,
      number,
      [string, number],
    ][];
    return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
  }

  it("maps every node's real address to its proxy", () => {
    expect(proxies.proxies).toHaveLength(3);
    for (const [i, node] of cluster.nodes.entries()) {
      const proxy = proxies.proxies[i]!;
      expect(proxy.target.port).toBe(node.port);
      expect(proxies.natMap[`127.0.0.1:${node.port}`]).toEqual({
        host: "127.0.0.1",
        port: proxy.port,
      });
      expect(proxies.proxyFor(node.port)).toBe(proxy);
    }
    expect(proxies.url).toBe(
      `redis-cluster://${proxies.proxies.map((p) => `127.0.0.1:${p.port}`).join(",")}`,
    );
  });

  it("routes all of a Cluster client's traffic through the proxies; a cut node fails only its keys, until restored", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => uniqueKey(`c${i}`));
    for (const key of keys) expect(await client.incr(key)).toBe(1);
    const proxyPorts = new Set(proxies.proxies.map((p) => p.port));
    const nodePorts = client.nodes("all").map((n) => n.options.port);
    expect(nodePorts.length).toBeGreaterThan(0);
    for (const port of nodePorts) expect(proxyPorts.has(port!)).toBe(true);
    // Every master holds some of the keys, and saw their INCRs through its proxy.
    for (const p of proxies.proxies) expect(p.stats.requests).toBeGreaterThan(0);

    const victim = cluster.nodes[0]!;
    const owners = await Promise.all(keys.map(nodeOf));
    const onVictim = keys.filter((_, i) => owners[i] === victim.port);
    const elsewhere = keys.filter((_, i) => owners[i] !== victim.port);
    expect(onVictim.length).toBeGreaterThan(0);
    expect(elsewhere.length).toBeGreaterThan(0);

    proxies.proxyFor(victim.port).cut();
    await expect(client.incr(onVictim[0]!)).rejects.toThrow();
    expect(await client.incr(elsewhere[0]!)).toBe(2);
    expect(proxies.proxyFor(victim.port).stats.refused).toBeGreaterThan(0);
    // The server never saw the refused INCR.
    expect(await redisCommand(victim.port, "GET", onVictim[0]!)).toBe("1");

    proxies.proxyFor(victim.port).restore();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const n = await client.incr(onVictim[1] ?? onVictim[0]!).catch(() => undefined);
      if (n !== undefined) break;
      if (Date.now() > deadline) throw new Error("the restored node never answered again");
      await sleep(100);
    }
  });
});
