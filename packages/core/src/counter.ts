import { invalidArgument, wrongType } from "./errors.js";

/**
 * `incr`'s arithmetic: `current` is the decoded stored value (`undefined` when the key is
 * missing or expired, counting as 0). A stored value that is not a safe integer is
 * KV_WRONG_TYPE; a result outside the safe range is KV_INVALID_ARGUMENT.
 */
export function incremented(method: string, key: string, current: unknown, amount: number): number {
  const base = current === undefined ? 0 : current;
  if (!Number.isSafeInteger(base)) throw wrongType(method, key, "a safe integer");
  const next = (base as number) + amount;
  if (!Number.isSafeInteger(next)) {
    throw invalidArgument(method, "the result must be a safe integer", next);
  }
  return next;
}
