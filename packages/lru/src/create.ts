import { LruBackend } from "./lru-backend.js";
import { DEFAULT_LRU_MAX, type LruBackendOptions } from "./options.js";

/**
 * Builds an `LruBackend`, with `max: DEFAULT_LRU_MAX` (10,000 entries) when neither
 * `max` nor `maxBytes` is given: the factory behind `lru://` URLs, where both are
 * optional (`lru://?max=…&maxBytes=…`). The constructor, by contrast, insists on a bound.
 */
export function createLruBackend(options: LruBackendOptions = {}): LruBackend {
  if (typeof options === "object" && options !== null) {
    if (options.max === undefined && options.maxBytes === undefined) {
      return new LruBackend({ ...options, max: DEFAULT_LRU_MAX });
    }
  }
  return new LruBackend(options);
}
