export { MAX_TTL_MS } from "@kv/core";
export { redactUrl } from "@kv/core/adapter";
export { hashSlot } from "./cluster/slot.js";
export type { NearCacheOptions, NearCacheStats } from "./near-cache/index.js";
export type { RedisBackendOptions } from "./options.js";
export { RedisBackend } from "./redis-backend.js";
export { escapeGlob } from "./scan.js";
export { parseRedisUrl, type RedisUrl } from "./url.js";
