import { boundJson } from "./bound-json.js";
import { boundRef } from "./bound-ref.js";
import { cacheManager } from "./cache-manager.js";
import { keyv } from "./keyv.js";
import { kvLru } from "./kv-lru.js";
import { kvMemory } from "./kv-memory.js";
import { lruCacheJson } from "./lru-cache-json.js";
import { nodeCache } from "./node-cache.js";
import type { Subject } from "./types.js";
import { unstorage } from "./unstorage.js";

/** The in-process rows, in table order: the bound first (every ratio is against it). */
export const IN_PROCESS_SUBJECTS: readonly Subject[] = [
  boundJson,
  boundRef,
  kvMemory,
  kvLru,
  keyv,
  nodeCache,
  unstorage,
  cacheManager,
  lruCacheJson,
];

export const BOUND = boundJson.name;
