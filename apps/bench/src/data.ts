/**
 * The values and keys every cell uses, built once so no cell pays for making them.
 * Shapes are realistic (nested objects, strings, numbers, booleans, arrays) because
 * JSON cost depends on shape, not only on size.
 */

export type ValueSize = "small" | "medium";

export interface Item {
  id: string;
  [field: string]: unknown;
}

/** ~100 bytes of JSON: a typical cached record. */
export function smallValue(n: number): Record<string, unknown> {
  return {
    id: n,
    name: `user-${n}`,
    email: `user${n}@example.com`,
    active: n % 2 === 0,
    score: (n % 1000) / 4,
    tags: ["a", "b"],
  };
}

/** ~2 KB of JSON: a record with a page of nested rows. */
export function mediumValue(n: number): Record<string, unknown> {
  const rows = [];
  for (let i = 0; i < 28; i++) {
    rows.push({ id: i, sku: `sku-${n}-${i}`, qty: i * 3, price: 9.99 + i, ok: i % 3 !== 0 });
  }
  return { id: n, owner: `user-${n}`, createdAt: "2026-01-01T00:00:00.000Z", rows };
}

export function sizedValue(size: ValueSize, n: number): Record<string, unknown> {
  return size === "small" ? smallValue(n) : mediumValue(n);
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

/** `key:000000` … : fixed width so every key costs the same to hash and compare. */
export function keyOf(i: number): string {
  return `key:${String(i).padStart(7, "0")}`;
}

export function keysOf(count: number, make: (i: number) => string = keyOf): string[] {
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) keys[i] = make(i);
  return keys;
}

/** A list item of ~80 bytes, the shape of the reference's inbox example. */
export function listItem(id: number): Item {
  return { id: `file-${id}`, filename: `report-${id}.pdf`, url: `https://files.example.com/${id}` };
}

export function listOf(length: number, firstId = 0): Item[] {
  const items = new Array<Item>(length);
  for (let i = 0; i < length; i++) items[i] = listItem(firstId + i);
  return items;
}

/** A deterministic PRNG (mulberry32): the same access pattern on every run and subject. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
