// Run with `vitest run --globals`: the runner's own functions, whatever its version, as
// no `import "vitest"` here could pick the runner's copy from a scratch install.
import { runSuite } from "./suite.mjs";

await runSuite({ describe, it, beforeEach, afterEach }, "vitest");
