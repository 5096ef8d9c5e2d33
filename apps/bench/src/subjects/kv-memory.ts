import { KVBackendStore } from "./kv-backend.js";
import type { Subject } from "./types.js";

export const kvMemory: Subject = {
  name: "kv-memory",
  what: "@kv/memory, default options",
  copies: true,
  copyNote: "stores JSON text; every read parses a fresh copy",
  support: {},
  // Loaded on use: a backend that is not built yet empties its row instead of the whole run.
  create: async () => {
    const { MemoryBackend } = await import("@kv/memory");
    return new KVBackendStore(new MemoryBackend());
  },
};
