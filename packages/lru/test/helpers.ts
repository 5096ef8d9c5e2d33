import { utf8Length } from "@kv/core/adapter";

/** A small deterministic generator (xorshift32), so churn tests replay the same run. */
export function seeded(seed: number): (n: number) => number {
  let x = seed | 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return Math.floor(((x >>> 0) / 2 ** 32) * n);
  };
}

/** What `maxBytes` accounts for an entry: UTF-8 of the key plus UTF-8 of the JSON. */
export function entryBytes(key: string, value: unknown): number {
  return utf8Length(key) + utf8Length(JSON.stringify(value));
}

/**
 * The reference for capacity: a Map in recency order (oldest first) that evicts from
 * the old end until a write fits, by entry count and/or by accounted bytes.
 */
export class LruModel {
  readonly entries = new Map<string, { value: unknown; size: number }>();
  readonly evicted: string[] = [];
  bytes = 0;

  constructor(
    readonly max: number | undefined,
    readonly maxBytes: number | undefined,
  ) {}

  /** False (and no change) when the entry alone is larger than the cache. */
  write(key: string, value: unknown): boolean {
    const size = entryBytes(key, value);
    if (this.maxBytes !== undefined && size > this.maxBytes) return false;
    this.remove(key);
    while (
      (this.max !== undefined && this.entries.size >= this.max) ||
      (this.maxBytes !== undefined && this.bytes + size > this.maxBytes)
    ) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
      this.evicted.push(oldest);
    }
    this.entries.set(key, { value: structuredClone(value), size });
    this.bytes += size;
    return true;
  }

  read(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.bytes -= entry.size;
    return true;
  }
}

/** A string of `length` characters mixing 1-, 2-, 3- and 4-byte UTF-8 (a surrogate pair is 2). */
export function mixedText(random: (n: number) => number, length: number): string {
  const pieces = ["a", "b", "z", "é", "ß", "€", "中", "😀"];
  let text = "";
  while (text.length < length) text += pieces[random(pieces.length)];
  return text;
}
