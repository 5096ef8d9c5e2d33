// The KV URL grammar lives in @kv/core (one parser for createKV and every backend).
export {
  type KVUrl,
  type KVUrlHost,
  parseKVUrl,
  redactUrl,
  urlError,
} from "@kv/core/adapter";
