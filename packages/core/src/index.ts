/**
 * `@kv/core`: what applications use. The contract's types, its errors, clocks for
 * tests, and `namespaced` views. Backend authors: `@kv/core/adapter`; the conformance
 * suite: `@kv/core/conformance`.
 */
export { type Clock, ManualClock, systemClock } from "./clock.js";
export { isKVError, KVError, type KVErrorCode, type KVErrorOptions } from "./errors.js";
export { namespaced } from "./namespace.js";
export { MAX_TTL_MS } from "./ttl.js";
export type {
  Entries,
  JsonValue,
  KVBackend,
  ListAppendOptions,
  PopOptions,
  ScanOptions,
  TtlOption,
} from "./types.js";
