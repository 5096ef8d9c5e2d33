export { SqliteBackend, type SqliteBackendOptions, wallClock } from "./sqlite-backend.js";
