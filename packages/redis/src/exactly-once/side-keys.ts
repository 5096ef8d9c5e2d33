import { randomBytes } from "node:crypto";
import { hashedPart, hashSlot } from "../cluster/slot.js";

/**
 * The keys a write or a pop keeps beside its key: idempotency records, in-flight pops,
 * the wake-up channel. Each is in the key's hash slot, so one script (one node on a
 * Cluster) handles the key and its side keys together.
 *
 * A side key is `{tag}` + NUL + `kv:` + kind + `:` + name, where `{tag}` makes it hash to
 * the key's slot:
 * - the key's own hash tag when it has one (`a{user1}b` → `{user1}`), else the whole key
 *   (`inbox` → `{inbox}`): Redis hashes only the text inside the first `{…}`;
 * - when that text holds a `}` (a key like `a}b`, or `{}x` whose empty tag does not
 *   count), wrapping it would cut it short: a short tag that hashes to the same slot
 *   (`slotTag`) is used instead.
 * The NUL byte keeps side keys apart from any key an application would write (keys are
 * well-formed Unicode, and `scanPrefix` leaves side keys out).
 */
const MARK = "\u0000kv:";

/** Whether a stored key is one of ours (scanPrefix leaves them out). */
export function isSideKey(fullKey: string): boolean {
  if (!fullKey.startsWith("{")) return false;
  const close = fullKey.indexOf("}");
  return close > 0 && fullKey.startsWith(MARK, close + 1);
}

function tagOf(fullKey: string): string {
  const hashed = hashedPart(fullKey);
  return hashed.includes("}") ? slotTag(hashSlot(fullKey)) : hashed;
}

/** The record of one write request (a string with a TTL). */
export function requestRecordKey(fullKey: string, requestId: string): string {
  return `{${tagOf(fullKey)}}${MARK}req:${requestId}`;
}

/**
 * The key's in-flight pops: a hash of two fields a pop, pop id → the items and `@`pop id
 * → the lease end (scripts/list-pop.lua.ts).
 */
export function inFlightKey(fullKey: string): string {
  return `{${tagOf(fullKey)}}${IN_FLIGHT_MARK}${fullKey}`;
}

/**
 * The in-flight hash of the versions before two fields a pop (one field, pop id →
 * "<lease end>|<items>"). A name of its own, so that an older backend, which cannot read
 * the newer layout (its pop would stop at the first such field, after deleting what it
 * had taken over before it: items lost), never meets it. Only the recovery sweep reads
 * these, to put back what an older process left.
 */
export function legacyInFlightKey(fullKey: string): string {
  return `{${tagOf(fullKey)}}${LEGACY_IN_FLIGHT_MARK}${fullKey}`;
}

/** What an in-flight hash's name holds between its tag and its key. */
const IN_FLIGHT_MARK = `${MARK}pops:`;
const LEGACY_IN_FLIGHT_MARK = `${MARK}pop:`;
/** A glob (SCAN MATCH) part that both in-flight marks match. */
export const ANY_IN_FLIGHT_MARK = `${MARK}pop`;

/** The full key whose in-flight hash (of either layout) is `name`, or undefined. */
export function keyOfInFlight(name: string): string | undefined {
  if (!isSideKey(name)) return undefined;
  const close = name.indexOf("}");
  for (const mark of [IN_FLIGHT_MARK, LEGACY_IN_FLIGHT_MARK]) {
    if (name.startsWith(mark, close + 1)) return name.slice(close + 1 + mark.length);
  }
  return undefined;
}

/** The channel that wakes waiting pops of the key. */
export function wakeChannel(fullKey: string): string {
  return `{${tagOf(fullKey)}}${MARK}wake:${fullKey}`;
}

const slotTags = new Map<number, string>();

/** A short text whose hash slot is `slot` (found once per slot, by search, then cached). */
export function slotTag(slot: number): string {
  const known = slotTags.get(slot);
  if (known !== undefined) return known;
  for (let n = 0; ; n++) {
    const candidate = `s${n.toString(36)}`;
    if (hashSlot(candidate) === slot) {
      slotTags.set(slot, candidate);
      return candidate;
    }
  }
}

const PROCESS = randomBytes(6).toString("base64url");
let sequence = 0;

/** A request id unique across processes and time: this process's random tag, then a counter. */
export function newRequestId(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS}.${sequence.toString(36)}`;
}
