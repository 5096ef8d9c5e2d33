import { afterEach, beforeEach, describe, it } from "node:test";
import { runSuite } from "./suite.mjs";

await runSuite({ describe, it, beforeEach, afterEach }, "node:test");
