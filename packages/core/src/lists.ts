import { assertSize, encodeValue } from "./codec.js";
import { invalidArgument, wrongType } from "./errors.js";
import { ttlFromOptions } from "./ttl.js";
import type { ListAppendOptions } from "./types.js";

export const DEFAULT_ID_KEY = "id";

/** An item's identity. Compared by type and value: `1` and `"1"` differ (as in a `Set`). */
export type ItemId = string | number;

export interface PreparedItem {
  id: ItemId;
  /** The item's JSON text, ready to be spliced into the stored array. */
  text: string;
}

export interface PreparedAppend {
  idKey: string;
  ttlMs: number | undefined;
  /** The call's items, valid, encoded, and unique among themselves (first occurrence wins). */
  items: PreparedItem[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isId(value: unknown): value is ItemId {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}

/**
 * The id of a list element, or `undefined` when it has none: stored elements that are
 * not objects with a string or finite-number id are kept and take no part in the dedupe.
 */
export function idOf(element: unknown, idKey: string): ItemId | undefined {
  if (typeof element !== "object" || element === null || Array.isArray(element)) return undefined;
  if (!Object.hasOwn(element, idKey)) return undefined;
  const id = (element as Record<string, unknown>)[idKey];
  return isId(id) ? id : undefined;
}

/**
 * Checks and encodes `listAppendUnique`'s arguments before anything is read or written.
 * Every item must be a plain object whose own `idKey` field is a string or a finite
 * number. Items are sized as a whole list later, once the stored list is known.
 */
export function prepareListAppend(
  method: string,
  items: unknown,
  options: ListAppendOptions | undefined,
): PreparedAppend {
  const ttlMs = ttlFromOptions(method, options);
  // Only an absent idKey takes the default (SPEC: `{ idKey = "id" }`): null is a bad idKey,
  // as a null ttlSeconds is a bad TTL.
  const idKey = options?.idKey === undefined ? DEFAULT_ID_KEY : options.idKey;
  if (typeof idKey !== "string" || idKey.length === 0) {
    throw invalidArgument(method, "idKey must be a non-empty string", idKey);
  }
  if (!Array.isArray(items)) throw invalidArgument(method, "items must be an array", items);

  const seen = new Set<ItemId>();
  const prepared: PreparedItem[] = [];
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    if (!isPlainObject(item)) {
      throw invalidArgument(method, `items[${i}] must be a plain object`, item);
    }
    // The id must be what gets stored: a toJSON could write other data than the object
    // holds, and a non-enumerable field is left out of the JSON.
    if (typeof item.toJSON === "function") {
      throw invalidArgument(method, `items[${i}] must be a plain object without toJSON`, item);
    }
    const id = Object.prototype.propertyIsEnumerable.call(item, idKey) ? item[idKey] : undefined;
    if (!isId(id)) {
      throw invalidArgument(method, `items[${i}].${idKey} must be a string or a finite number`, id);
    }
    // Encoded even when a duplicate: a bad item fails the call wherever it stands.
    const text = encodeValue(method, item, Number.POSITIVE_INFINITY, `items[${i}]`);
    if (seen.has(id)) continue;
    seen.add(id);
    prepared.push({ id, text });
  }
  return { idKey, ttlMs, items: prepared };
}

/** The prepared items whose ids are not in `list` yet, in call order. */
export function itemsToAppend(list: readonly unknown[], append: PreparedAppend): PreparedItem[] {
  if (append.items.length === 0) return append.items;
  const present = new Set<ItemId>();
  for (const element of list) {
    const id = idOf(element, append.idKey);
    if (id !== undefined) present.add(id);
  }
  return present.size === 0 ? append.items : append.items.filter((item) => !present.has(item.id));
}

/**
 * The JSON text of an array with `items` appended, spliced as text: the stored
 * elements are not encoded again. `arrayText` is the stored array's JSON, or
 * `undefined` for a new list.
 */
export function appendToJsonArray(
  arrayText: string | undefined,
  items: readonly PreparedItem[],
): string {
  let joined = "";
  for (let i = 0; i < items.length; i++) joined += (i === 0 ? "" : ",") + items[i]!.text;
  if (arrayText === undefined || arrayText === "[]") return `[${joined}]`;
  if (joined === "") return arrayText;
  return `${arrayText.slice(0, -1)},${joined}]`;
}

/** A stored list's JSON text, decoded; KV_WRONG_TYPE when it holds something else. */
export function decodeList(method: string, key: string, text: string): unknown[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw wrongType(method, key, "a list");
  return value;
}

export interface ListAppendPlan {
  /** The list after the append, freshly decoded: what `listAppendUnique` returns. */
  list: unknown[];
  /** The JSON text to store, or `undefined` when nothing is to be stored. */
  text: string | undefined;
  /** How many items the call appends (0: the stored text is unchanged). */
  added: number;
}

/**
 * `listAppendUnique` for a backend that holds the list's JSON text: given the live
 * stored text (`undefined` for a missing or expired key), the text to store and the list
 * to return. Throws KV_WRONG_TYPE for a stored non-array and KV_VALUE_TOO_LARGE for a
 * result over `maxBytes`, before anything is written. An empty call on a missing key
 * stores nothing (`text` undefined). The TTL is the backend's to apply: `append.ttlMs`
 * when given, else the key's own.
 */
export function planListAppend(
  method: string,
  key: string,
  stored: string | undefined,
  append: PreparedAppend,
  maxBytes: number,
): ListAppendPlan {
  const list = stored === undefined ? [] : decodeList(method, key, stored);
  const added = itemsToAppend(list, append);
  if (added.length === 0) return { list, text: stored, added: 0 };
  const text = appendToJsonArray(stored, added);
  assertSize(method, text, maxBytes);
  for (const item of added) list.push(JSON.parse(item.text));
  return { list, text, added: added.length };
}
