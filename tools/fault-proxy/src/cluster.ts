/**
 * One proxy per Cluster node, and the ioredis `natMap` that sends the addresses the
 * cluster announces (CLUSTER SLOTS, MOVED, ASK: the nodes' real ports) through them.
 */
import type { Address } from "./link.js";
import { type FaultProxy, startProxy } from "./proxy.js";

export interface ClusterProxies {
  /** One proxy per node, in the order of the nodes given. */
  proxies: FaultProxy[];
  /** For ioredis `new Cluster(startupNodes, { natMap })`: `"127.0.0.1:realPort"` to the node's proxy. */
  natMap: Record<string, { host: string; port: number }>;
  /** The proxies' addresses, as the Cluster's startup nodes. */
  startupNodes: { host: string; port: number }[];
  /** `redis-cluster://127.0.0.1:proxyPort1,...` (the redis-harness format, through the proxies). */
  url: string;
  /** The proxy in front of the node on `realPort` (throws for a node it does not know). */
  proxyFor(realPort: number): FaultProxy;
  /** Closes every proxy. Idempotent. */
  close(): Promise<void>;
}

/** Starts a proxy in front of each node (`nodes`: the real addresses, e.g. `cluster.nodes`). */
export async function startClusterProxies(nodes: readonly Address[]): Promise<ClusterProxies> {
  const proxies: FaultProxy[] = [];
  const close = () => Promise.all(proxies.map((p) => p.close())).then(() => undefined);
  try {
    for (const node of nodes) proxies.push(await startProxy({ target: node }));
  } catch (err) {
    await close();
    throw err;
  }
  const byRealPort = new Map(proxies.map((p) => [p.target.port, p]));
  const natMap: ClusterProxies["natMap"] = {};
  for (const p of proxies)
    natMap[`${p.target.host}:${p.target.port}`] = { host: p.host, port: p.port };
  const startupNodes = proxies.map((p) => ({ host: p.host, port: p.port }));
  return {
    proxies,
    natMap,
    startupNodes,
    url: `redis-cluster://${startupNodes.map((n) => `${n.host}:${n.port}`).join(",")}`,
    proxyFor(realPort) {
      const proxy = byRealPort.get(realPort);
      if (proxy === undefined) throw new Error(`fault-proxy: no proxy for node port ${realPort}`);
      return proxy;
    },
    close,
  };
}
