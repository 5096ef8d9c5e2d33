export type { JsonValue, KVBackend } from "@kv/core";
export {
  type CreateContextOptions,
  createContext,
  currentContext,
  type KVContext,
  kv,
  runWithContext,
  tryCurrentContext,
} from "./context.js";
export { createKV, DEFAULT_KV_URL, knownSchemes } from "./create.js";
export { type BackendPackage, provideBackendPackage } from "./load.js";
export { type OptionSpec, type OptionsOf, type OptionType, readOptions } from "./options.js";
export { type BackendFactory, type BackendOverrides, registerBackend } from "./registry.js";
export { type KVUrl, type KVUrlHost, parseKVUrl, redactUrl } from "./url.js";
