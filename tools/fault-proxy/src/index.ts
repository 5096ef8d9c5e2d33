/**
 * A loopback TCP proxy for fault-injection tests: put it between a Redis client and a
 * throwaway `redis-server` (see @kv/redis-harness) and drop replies, reset requests,
 * delay replies, black-hole traffic or cut the connection, one request at a time.
 * Depends on nothing but Node; binds and connects 127.0.0.1 only. See README.md.
 */
export { type ClusterProxies, startClusterProxies } from "./cluster.js";
export type { Address, ProxyStats } from "./link.js";
export {
  type ArmOptions,
  type FaultProxy,
  type RandomFaultKind,
  type RandomFaultOptions,
  type StartProxyOptions,
  startProxy,
} from "./proxy.js";
export { type ReplyFrame, ReplyFramer, type RequestFrame, RequestFramer } from "./resp-framing.js";
