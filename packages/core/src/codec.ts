import { invalidArgument, KVError } from "./errors.js";

/** The default of every backend's `maxValueBytes` option: 1 MiB of UTF-8 JSON. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

/** Validates a `maxValueBytes` backend option (a positive safe integer), with its default. */
export function resolveMaxValueBytes(where: string, value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_VALUE_BYTES;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw invalidArgument(where, "maxValueBytes must be a positive integer", value);
  }
  return value as number;
}

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * Throws KV_VALUE_TOO_LARGE when `text` is over `maxBytes` of UTF-8. Every UTF-16 code
 * unit takes one to three UTF-8 bytes, so most texts are settled by their length alone
 * and only those in between are measured.
 */
export function assertSize(method: string, text: string, maxBytes: number): void {
  const n = text.length;
  if (n * 3 <= maxBytes) return;
  const bytes = n > maxBytes ? n : utf8Length(text);
  if (bytes > maxBytes) {
    throw new KVError(
      "KV_VALUE_TOO_LARGE",
      `${method}: the value's JSON is ${n > maxBytes ? "at least " : ""}${bytes} bytes, over maxValueBytes (${maxBytes})`,
    );
  }
}

/**
 * A value's JSON text, the one form every backend stores. Rejects with
 * KV_INVALID_ARGUMENT what JSON cannot hold (undefined, a function or symbol as the
 * value, a BigInt anywhere, a cycle), and with KV_VALUE_TOO_LARGE what is over
 * `maxBytes`. Nothing is written before this returns, so a rejected value stores nothing.
 */
export function encodeValue(
  method: string,
  value: unknown,
  maxBytes: number,
  name = "value",
): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    // A BigInt, a cycle, or a toJSON that threw.
    throw invalidArgument(
      method,
      `${name} must be JSON-serializable: ${(cause as Error).message}`,
      value,
      cause,
    );
  }
  if (text === undefined) {
    throw invalidArgument(method, `${name} must be JSON-serializable`, value);
  }
  assertSize(method, text, maxBytes);
  return text;
}

/** The inverse of `encodeValue`: a fresh copy on every call. */
export function decodeValue<T = unknown>(text: string): T {
  return JSON.parse(text) as T;
}
