/**
 * `@kv/core/adapter`: what a backend author builds on. Applications import `@kv/core`.
 *
 * A backend extends `KVStore` (the contract's front door: argument checks, encoding,
 * TTL units, KV_CLOSED, waiting pops) and implements its engine methods; the helpers
 * below are the shared rules an engine applies (list appends, counters, TTL deadlines,
 * error shapes), so that every backend applies them the same way.
 */
export { type Clock, systemClock } from "../clock.js";
export {
  assertSize,
  DEFAULT_MAX_VALUE_BYTES,
  encodeValue,
  resolveMaxValueBytes,
  utf8Length,
} from "../codec.js";
export { incremented } from "../counter.js";
export { closedError, describeValue, invalidArgument, KVError, wrongType } from "../errors.js";
export {
  appendToJsonArray,
  DEFAULT_ID_KEY,
  decodeList,
  type ItemId,
  idOf,
  itemsToAppend,
  type ListAppendPlan,
  type PreparedAppend,
  type PreparedItem,
  planListAppend,
} from "../lists.js";
export { type PrefixPurger, PURGE_EXPIRED_PREFIX } from "../purge-prefix.js";
export { redactUrl, SECRET_PARAM } from "../redact.js";
export {
  isExpired,
  keepOrSetDeadline,
  MAX_TTL_MS,
  NO_DEADLINE,
  ttlToMs,
} from "../ttl.js";
export {
  type KVUrl,
  type KVUrlHost,
  type OptionSpec,
  type OptionsOf,
  type OptionType,
  parseKVUrl,
  readUrlOptions,
  urlError,
} from "../url.js";
export {
  DEFAULT_PURGE_LIMIT,
  DEFAULT_SCAN_LIMIT,
  type ResolvedScan,
  resolveLimit,
} from "../validate.js";
export { ExpiryIndex } from "./expiry-index.js";
export { OrderedKeys, scanUnordered } from "./ordered-keys.js";
export {
  PURGE_SLICE_BATCH,
  PURGE_SLICE_MS,
  type PurgeOptions,
  PurgeScheduler,
  type PurgeSchedulerOptions,
  type ResolvedPurge,
  resolvePurgeOptions,
  WRITE_ASSIST,
} from "./purge-scheduler.js";
export {
  decodeStored,
  isFilledList,
  KVStore,
  type KVStoreOptions,
  type MaybePromise,
} from "./store.js";
export { POLL_MAX_MS, type Wakeups } from "./waits.js";
