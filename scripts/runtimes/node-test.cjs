const { afterEach, beforeEach, describe, it } = require("node:test");
const { runSuite } = require("./suite.cjs");

runSuite({ describe, it, beforeEach, afterEach }, "node:test");
