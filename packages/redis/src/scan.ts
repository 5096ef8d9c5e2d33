import type { Redis } from "ioredis";
import type { Link } from "./connection/link.js";
import { isSideKey } from "./exactly-once/side-keys.js";

/** `text` as a literal in a Redis glob pattern: `*`, `?`, `[`, `]` and `\` escaped. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** Keys per SCAN reply: bigger pages mean fewer round trips over a large keyspace. */
const SCAN_COUNT = 1000;

export interface PrefixScan {
  /** Our `prefix` option, stripped from the keys returned. */
  namespace: string;
  /** The caller's prefix (literal). */
  prefix: string;
  after: string | undefined;
  limit: number;
}

/**
 * The `limit` smallest keys (in code-unit order) starting with `namespace + prefix` and
 * greater than `after`, over every given node (a standalone server, or each cluster master).
 *
 * The cost is SCAN's: it walks the whole keyspace of every node, in pages of ~1000 keys
 * (one round trip each), whatever the prefix, because Redis keeps keys in hash order.
 * SCAN's MATCH filters on the server, so only matching keys cross the network; they are
 * held (those after `after`), sorted, and cut to `limit`: memory O(matching keys). SCAN may
 * return a key twice; the set drops repeats. A key that exists for the whole scan is
 * always seen (SCAN's guarantee); one written or deleted during it may or may not be.
 */
export async function scanPrefix(
  link: Link,
  method: string,
  nodes: readonly Redis[],
  scan: PrefixScan,
): Promise<string[]> {
  const full = scan.namespace + scan.prefix;
  const pattern = `${escapeGlob(full)}*`;
  const found = new Set<string>();
  const strip = scan.namespace.length;
  await Promise.all(
    nodes.map(async (node) => {
      let cursor = "0";
      do {
        const [next, keys] = await link.run(method, () =>
          node.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT),
        );
        cursor = next;
        for (const key of keys) {
          // MATCH is exact on bytes; the check guards against keys that are not UTF-8.
          if (!key.startsWith(full) || isSideKey(key)) continue;
          const own = key.slice(strip);
          if (scan.after === undefined || own > scan.after) found.add(own);
        }
      } while (cursor !== "0");
    }),
  );
  // The default sort compares UTF-16 code units: SPEC.md's order (not UTF-8 byte order).
  const keys = [...found].sort();
  return keys.length > scan.limit ? keys.slice(0, scan.limit) : keys;
}
