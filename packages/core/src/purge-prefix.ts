/**
 * How a namespaced view purges its own expired entries (`namespaced(...).purgeExpired`).
 *
 * A view cannot do it through the `KVBackend` contract: `scanPrefix` leaves expired keys
 * out, and the backend's `purgeExpired` is not restricted to a prefix. So a backend that
 * can find the expired entries of a prefix offers this method under a symbol: it is no
 * part of the contract (a backend without it is as correct, the view's purge then
 * returns 0), and `Symbol.for` finds it across copies of @kv/core in one program.
 * `KVStore` has it, backed by its engine's `_purgeExpiredPrefix`.
 */
export const PURGE_EXPIRED_PREFIX: unique symbol = Symbol.for("@kv/core:purgeExpiredPrefix");

export interface PrefixPurger {
  /**
   * Removes at most `limit` (a positive integer) expired entries whose keys start with
   * `prefix`, never a live one, and returns how many; `undefined` when the backend cannot.
   */
  [PURGE_EXPIRED_PREFIX](prefix: string, limit: number): Promise<number | undefined>;
}
