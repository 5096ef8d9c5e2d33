export { createLruBackend } from "./create.js";
export { LruBackend } from "./lru-backend.js";
export {
  DEFAULT_LRU_MAX,
  type EvictionReason,
  type LruBackendOptions,
  type LruStats,
} from "./options.js";
