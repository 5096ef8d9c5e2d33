export { type Clock, ManualClock, systemClock } from "./clock.js";
export {
  assertSize,
  DEFAULT_MAX_VALUE_BYTES,
  decodeValue,
  encodeValue,
  resolveMaxValueBytes,
  utf8Length,
} from "./codec.js";
export { incremented } from "./counter.js";
export {
  closedError,
  describeValue,
  invalidArgument,
  isKVError,
  KVError,
  type KVErrorCode,
  wrongType,
} from "./errors.js";
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
  prepareListAppend,
} from "./lists.js";
export { namespaced } from "./namespace.js";
export { redactUrl, SECRET_PARAM } from "./redact.js";
export {
  deadlineOf,
  isExpired,
  MAX_TTL_MS,
  NO_DEADLINE,
  secondsLeft,
  ttlFromOptions,
  ttlToMs,
} from "./ttl.js";
export type {
  Entries,
  JsonValue,
  KVBackend,
  ListAppendOptions,
  ScanOptions,
  TtlOption,
} from "./types.js";
export {
  assertKey,
  assertKeys,
  DEFAULT_PURGE_LIMIT,
  DEFAULT_SCAN_LIMIT,
  encodeEntries,
  type ResolvedScan,
  resolveAmount,
  resolveLimit,
  resolveScan,
} from "./validate.js";
