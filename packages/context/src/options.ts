import { SECRET_PARAM } from "@kv/core";
import { type KVUrl, urlError } from "./url.js";

/**
 * The type of a query option:
 * - `"integer"`: a non-negative decimal integer (`10`, not `1e1`, `0x0a` or `+10`);
 * - `"number"`: a non-negative decimal number (`0.5`);
 * - `"number|false"`: a number, or `false` to turn the feature off;
 * - `"boolean"`: `true` or `false`;
 * - `"string"`: taken as it is (after percent-decoding).
 *
 * Ranges (a positive `max`, …) are the backend's to check: it knows its own rules and
 * says so with the option's name.
 */
export type OptionType = "integer" | "number" | "number|false" | "boolean" | "string";

/** The options a scheme accepts in its query string, by name. */
export type OptionSpec = Readonly<Record<string, OptionType>>;

type ValueOf<T extends OptionType> = T extends "string"
  ? string
  : T extends "boolean"
    ? boolean
    : T extends "number|false"
      ? number | false
      : number;

/** The options of a query, typed after their spec; absent ones are left out. */
export type OptionsOf<S extends OptionSpec> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

const INTEGER = /^(0|[1-9][0-9]*)$/;
const NUMBER = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

function parseValue(
  url: KVUrl,
  name: string,
  type: OptionType,
  raw: string,
): string | number | boolean {
  const got = SECRET_PARAM.test(name) ? "***" : JSON.stringify(raw);
  switch (type) {
    case "string":
      return raw;
    case "boolean":
      if (raw === "true" || raw === "false") return raw === "true";
      throw urlError(url, `option ${name} must be true or false`, got);
    case "number|false":
      if (raw === "false") return false;
      if (NUMBER.test(raw)) return Number(raw);
      throw urlError(url, `option ${name} must be a non-negative number or false`, got);
    case "number":
      if (NUMBER.test(raw)) return Number(raw);
      throw urlError(url, `option ${name} must be a non-negative number`, got);
    case "integer": {
      const n = Number(raw);
      if (INTEGER.test(raw) && Number.isSafeInteger(n)) return n;
      throw urlError(url, `option ${name} must be a non-negative integer`, got);
    }
  }
}

/**
 * Reads the query options of `url` after `spec`: every name must be in the spec and given
 * once, every value must parse as its type. Anything else is KV_INVALID_ARGUMENT naming the
 * valid options. Custom backends use it too, so every scheme fails the same way.
 *
 * @example
 * const { path, maxValueBytes } = readOptions(url, { path: "string", maxValueBytes: "integer" });
 */
export function readOptions<const S extends OptionSpec>(url: KVUrl, spec: S): OptionsOf<S> {
  const out: Record<string, string | number | boolean> = {};
  const valid = Object.keys(spec);
  for (const [name, raw] of url.params) {
    if (!Object.hasOwn(spec, name)) {
      const list = valid.length === 0 ? "none" : valid.join(", ");
      throw urlError(
        url,
        `unknown option for ${url.scheme}://, valid options: ${list}`,
        JSON.stringify(name),
      );
    }
    if (Object.hasOwn(out, name))
      throw urlError(url, "each option may be given once", `${JSON.stringify(name)} twice`);
    out[name] = parseValue(url, name, spec[name]!, raw);
  }
  return out as OptionsOf<S>;
}
