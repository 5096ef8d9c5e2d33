/**
 * A process-wide singleton on `globalThis` under `Symbol.for(name)`.
 *
 * The ESM and the CJS build of this package are separate module instances (a framework
 * that `require`s it and an app that `import`s it get one each), and so are two installed
 * copies. State kept in module scope would split between them: a backend registered
 * through one copy would be unknown to the other, and a context made current by one
 * would be invisible to the other. Keyed by a registered symbol, they share one.
 */
export function processShared<T>(name: string, create: () => T): T {
  const key = Symbol.for(name);
  const slots = globalThis as { [key]?: T };
  if (slots[key] === undefined) slots[key] = create();
  return slots[key];
}
