// A scheme's query options are read by @kv/core's `readUrlOptions`, the same for every
// scheme, built-in or registered (@kv/redis reads its own with it too).
import { type OptionSpec, type OptionsOf, readUrlOptions } from "@kv/core/adapter";

export type { OptionSpec, OptionsOf, OptionType } from "@kv/core/adapter";

/**
 * Reads the query options of `url` after `spec`: every name must be in the spec and given
 * once, every value must parse as its type. Anything else is KV_INVALID_ARGUMENT naming the
 * valid options. Custom backends use it too, so every scheme fails the same way.
 *
 * @example
 * const { path, maxValueBytes } = readOptions(url, { path: "string", maxValueBytes: "integer" });
 */
export const readOptions: <const S extends OptionSpec>(
  url: Parameters<typeof readUrlOptions>[0],
  spec: S,
) => OptionsOf<S> = readUrlOptions;
