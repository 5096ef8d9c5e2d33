/**
 * Redis Cluster's key → hash slot mapping: CRC16-XMODEM of the key's UTF-8 bytes, modulo
 * 16384. When the key holds a hash tag (the text between the first `{` and the first `}`
 * after it, if not empty) only the tag is hashed, so keys that share a tag share a slot.
 */
export const SLOT_COUNT = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The part of a key that Redis hashes: its hash tag when it has one, else the whole key. */
export function hashedPart(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  // "{}" is not a tag: the whole key is hashed.
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/**
 * The cluster slot of `key`. `{` and `}` are ASCII, and UTF-8 never uses those bytes
 * inside a multi-byte character, so finding them in the string finds them in the bytes.
 */
export function hashSlot(key: string): number {
  const part = hashedPart(key);
  // ASCII (most keys): its UTF-16 code units are its UTF-8 bytes, no Buffer needed.
  let crc = 0;
  for (let i = 0; i < part.length; i++) {
    const byte = part.charCodeAt(i);
    if (byte >= 0x80) return crc16(Buffer.from(part, "utf8")) % SLOT_COUNT;
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  }
  return crc % SLOT_COUNT;
}

/** Indexes of `keys` grouped by slot, in first-seen order. */
export function groupBySlot(keys: readonly string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = hashSlot(keys[i]!);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [i]);
    else group.push(i);
  }
  return groups;
}
