export { redactUrl } from "@kv/core";
export { MAX_TTL_MS, RedisBackend, type RedisBackendOptions } from "./backend.js";
export { escapeGlob } from "./scan.js";
export { hashSlot } from "./slot.js";
export { parseRedisUrl, type RedisUrl } from "./url.js";
