export { MAX_TTL_MS, redactUrl } from "@kv/core";
export { RedisBackend, type RedisBackendOptions } from "./backend.js";
export { escapeGlob } from "./scan.js";
export { hashSlot } from "./slot.js";
export { parseRedisUrl, type RedisUrl } from "./url.js";
