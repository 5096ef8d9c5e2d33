/**
 * Keys are stored as UTF-16BE BLOBs, not as TEXT.
 *
 * SPEC.md orders `scanPrefix` by UTF-16 code units (JavaScript's `<`). SQLite compares
 * TEXT as UTF-8 bytes, which is code-point order, and the two disagree: U+FFFD sorts
 * after U+1F600 in UTF-8 but before it in UTF-16 (whose surrogates are 0xD8xx–0xDFxx).
 * Big-endian UTF-16 bytes compared with memcmp (SQLite's BLOB order) give exactly the
 * code-unit order, so the primary key's own order is the order the contract wants and
 * a scan is a plain range query on the primary key.
 */

/** The stored form of a (well-formed) key. */
export function encodeKey(key: string): Buffer {
  return Buffer.from(key, "utf16le").swap16();
}

/** The inverse of `encodeKey`. Swaps `stored` in place: pass a buffer you own. */
export function decodeKey(stored: Buffer): string {
  return stored.swap16().toString("utf16le");
}

/**
 * The smallest byte string greater than every string that starts with `prefix`, or
 * `undefined` when there is none (an empty prefix, or only 0xFF bytes). Together with
 * `key >= prefix` it turns "starts with" into a range the primary-key index answers,
 * with no LIKE/GLOB pattern whose `%`, `_`, `*` or `[` could leak from a key.
 */
export function prefixUpperBound(prefix: Buffer): Buffer | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const bound = Buffer.from(prefix.subarray(0, end));
  bound[end - 1] = prefix[end - 1]! + 1;
  return bound;
}
