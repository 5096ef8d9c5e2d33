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

/** A character outside ASCII: a key whose UTF-8 bytes are not its UTF-16 code units. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * `hashSlot` of many keys. ASCII keys (most) are read from one Buffer of them all: in a
 * process that has loaded ioredis, reading strings one character at a time (charCodeAt,
 * indexOf) is several times slower than in a bare one (measured, Node 20: 3.5 ms against
 * 0.7 ms for 10,000 keys; defining ioredis's `class … extends String` alone does it),
 * and a Buffer's bytes are not affected (1 ms, join and copy included).
 */
export function slotsOf(keys: readonly string[]): Uint16Array {
  const slots = new Uint16Array(keys.length);
  const joined = keys.join("");
  if (NON_ASCII.test(joined)) {
    for (let k = 0; k < keys.length; k++) slots[k] = hashSlot(keys[k]!);
    return slots;
  }
  const bytes = Buffer.from(joined, "latin1");
  let at = 0;
  for (let k = 0; k < keys.length; k++) {
    const end = at + keys[k]!.length;
    // The hashed part, as hashedPart finds it: the first "{", the first "}" after it.
    let from = at;
    let to = end;
    let open = at;
    while (open < end && bytes[open] !== 0x7b) open++;
    if (open < end) {
      let close = open + 1;
      while (close < end && bytes[close] !== 0x7d) close++;
      if (close < end && close > open + 1) {
        from = open + 1;
        to = close;
      }
    }
    let crc = 0;
    for (let i = from; i < to; i++) {
      crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
    }
    slots[k] = crc % SLOT_COUNT;
    at = end;
  }
  return slots;
}

/** One hash slot's keys in a batch: `keys[order[i]]` for `start <= i < end` (`BySlot`). */
export interface SlotPart {
  readonly slot: number;
  readonly start: number;
  readonly end: number;
}

/** A batch's keys grouped by hash slot, without an array per slot. */
export interface BySlot {
  readonly keys: readonly string[];
  /** Indexes into `keys`, slot after slot; within a slot, in batch order. */
  readonly order: Uint32Array;
  /** The slots, in the order their first key comes in the batch. */
  readonly parts: readonly SlotPart[];
}

/** Per slot, a count, then a position in `order`; all zero between calls. */
const scratch = new Uint32Array(SLOT_COUNT);

/** `keys` grouped by slot (a counting sort: one pass to count, one to place). */
export function bySlot(keys: readonly string[]): BySlot {
  const n = keys.length;
  const slotOf = slotsOf(keys);
  const used: number[] = [];
  for (let i = 0; i < n; i++) {
    if (scratch[slotOf[i]!]!++ === 0) used.push(slotOf[i]!);
  }
  const parts = new Array<SlotPart>(used.length);
  let at = 0;
  for (let p = 0; p < used.length; p++) {
    const slot = used[p]!;
    const end = at + scratch[slot]!;
    parts[p] = { slot, start: at, end };
    scratch[slot] = at;
    at = end;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[scratch[slotOf[i]!]!++] = i;
  for (const slot of used) scratch[slot] = 0;
  return { keys, order, parts };
}

/** The keys of one slot of `batch`, as an array. */
export function keysOf(batch: BySlot, part: SlotPart): string[] {
  const keys = new Array<string>(part.end - part.start);
  for (let i = part.start; i < part.end; i++) keys[i - part.start] = batch.keys[batch.order[i]!]!;
  return keys;
}
