// Core's own unit tests reach every module, public or not, through this one file.
export * from "../src/abort.js";
export * from "../src/adapter/index.js";
export * from "../src/clock.js";
export * from "../src/codec.js";
export * from "../src/counter.js";
export * from "../src/errors.js";
export * from "../src/lists.js";
export * from "../src/namespace.js";
export * from "../src/redact.js";
export * from "../src/ttl.js";
export * from "../src/types.js";
export * from "../src/validate.js";
