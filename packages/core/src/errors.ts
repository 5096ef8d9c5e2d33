export type KVErrorCode =
  | "KV_INVALID_ARGUMENT"
  | "KV_WRONG_TYPE"
  | "KV_VALUE_TOO_LARGE"
  | "KV_UNAVAILABLE"
  | "KV_CLOSED";

// A registered symbol, not `instanceof`: an app can end up with two copies of @kv/core
// (a backend pinned to another version), and their KVError classes are different objects.
const BRAND = Symbol.for("@kv/core/KVError");

export interface KVErrorOptions {
  cause?: unknown;
  /** See `KVError.mayHaveTakenEffect`. Default false. */
  mayHaveTakenEffect?: boolean;
}

/** Every error the kv packages throw. Test the kind with `isKVError(err, code)`. */
export class KVError extends Error {
  readonly code: KVErrorCode;
  /**
   * Whether the failed call may still have taken effect (SPEC.md "When a remote reply is
   * lost"). Only a `KV_UNAVAILABLE` write whose request reached (or may have reached) the
   * server says `true`: its effect happened at most once, and for `listPopAll` the items
   * were not lost but put back under their key. `false` means the call changed nothing:
   * every other code, every read, and a write that was never sent or that the server
   * refused.
   */
  readonly mayHaveTakenEffect: boolean;

  constructor(code: KVErrorCode, message: string, options?: KVErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KVError";
    this.code = code;
    this.mayHaveTakenEffect = options?.mayHaveTakenEffect === true;
  }

  get [BRAND](): true {
    return true;
  }
}

/** True when `err` is a KVError (from any copy of @kv/core), with `code` when given. */
export function isKVError(err: unknown, code?: KVErrorCode): err is KVError {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { [BRAND]?: unknown; code?: unknown };
  return e[BRAND] === true && (code === undefined || e.code === code);
}

/** Renders a rejected argument for an error message: short, and never the whole value. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string": {
      const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
      return JSON.stringify(shown);
    }
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
    case "boolean":
      return String(value);
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of ${value.length}`;
      return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  }
}

/** `KV_INVALID_ARGUMENT` with the message shape `method: what (got value)`. */
export function invalidArgument(
  method: string,
  what: string,
  got: unknown,
  cause?: unknown,
): KVError {
  return new KVError(
    "KV_INVALID_ARGUMENT",
    `${method}: ${what} (got ${describeValue(got)})`,
    cause === undefined ? undefined : { cause },
  );
}

export function wrongType(method: string, key: string, expected: string): KVError {
  return new KVError(
    "KV_WRONG_TYPE",
    `${method}: the value at ${describeValue(key)} is not ${expected}`,
  );
}

export function closedError(method: string): KVError {
  return new KVError("KV_CLOSED", `${method}: the backend is closed`);
}
