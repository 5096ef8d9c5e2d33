import type { TestApi } from "../../src/conformance/index.js";

type Hook = () => unknown;
interface Scope {
  before: Hook[];
  after: Hook[];
  parent: Scope | undefined;
}

/**
 * A test runner of our own, for testing the suite itself: it collects what the suite
 * registers (in node:test's shape: no `it.each`, the timeout as an options argument) and
 * runs one test on demand, returning its failure instead of reporting it.
 */
export function collectTests(register: (test: TestApi) => void) {
  const tests: { name: string; fn: Hook; scope: Scope; timeout: unknown }[] = [];
  let scope: Scope = { before: [], after: [], parent: undefined };
  register({
    describe(_name, fn) {
      const outer = scope;
      scope = { before: [], after: [], parent: outer };
      fn();
      scope = outer;
    },
    it(name: string, options: { timeout?: number }, fn: Hook) {
      tests.push({ name, fn, scope, timeout: options.timeout });
    },
    beforeEach: (fn) => void scope.before.push(fn),
    afterEach: (fn) => void scope.after.push(fn),
  });

  return {
    names: tests.map((t) => t.name),
    timeoutOf: (fragment: string) => find(fragment).timeout,
    /** Runs the one test whose name contains `fragment`; resolves to its error, if any. */
    async run(fragment: string): Promise<Error | undefined> {
      const test = find(fragment);
      const chain: Scope[] = [];
      for (let s: Scope | undefined = test.scope; s !== undefined; s = s.parent) chain.unshift(s);
      let failure: Error | undefined;
      try {
        for (const s of chain) for (const hook of s.before) await hook();
        await test.fn();
      } catch (err) {
        failure = err as Error;
      } finally {
        for (const s of chain.reverse()) for (const hook of s.after) await hook();
      }
      return failure;
    },
  };

  function find(fragment: string) {
    const found = tests.filter((t) => t.name.includes(fragment));
    if (found.length !== 1) throw new Error(`${found.length} tests match ${fragment}`);
    return found[0]!;
  }
}
