export { MapBackend } from "./map-backend.js";
export { SqliteBackend, type SqliteBackendOptions, wallClock } from "./sqlite-backend.js";
