import { KVBackendStore } from "./kv-backend.js";
import type { Subject } from "./types.js";

/**
 * Ten times what a cell holds, so no cell ever evicts (eviction would turn hits into
 * misses), without making lru-cache allocate index arrays for millions of slots.
 */
export const LRU_CAPACITY = 100_000;

export const kvLru: Subject = {
  name: "kv-lru",
  what: `@kv/lru, max ${LRU_CAPACITY.toLocaleString("en-US")} entries`,
  copies: true,
  copyNote: "stores JSON text; every read parses a fresh copy",
  support: {},
  // Loaded on use: a backend that is not built yet empties its row instead of the whole run.
  create: async () => {
    const { LruBackend } = await import("@kv/lru");
    return new KVBackendStore(new LruBackend({ max: LRU_CAPACITY }));
  },
};
