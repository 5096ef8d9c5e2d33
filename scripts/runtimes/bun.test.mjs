import { afterEach, beforeEach, describe, it } from "bun:test";
import { runSuite } from "./suite.mjs";

await runSuite({ describe, it, beforeEach, afterEach }, "bun test");
