import type { ItemId, PreparedAppend } from "@kv/core/adapter";
import { defineScript, pxOf, type ScriptArgv } from "./protocol.js";

/**
 * `listAppendUnique` in one round trip: read the list, drop the items whose id it already
 * holds, splice the rest onto the stored text, check the size, write, return the new text.
 * Mirrors core's `planListAppend` (lists.ts: `itemsToAppend`, `appendToJsonArray`) and
 * `keepOrSetDeadline` (ttl.ts) for the TTL.
 *
 *   KEYS[1]        the list's key
 *   KEYS[2]        the request's idempotency record (same slot, exactly-once/side-keys.ts)
 *   ARGV[1]        the TTL to set, in whole ms, or "" to keep the key's TTL
 *   ARGV[2]        maxValueBytes
 *   ARGV[3]        idKey (lone surrogates spelled out, see `spellOutLoneSurrogates`)
 *   ARGV[4]        the record's lifetime in ms
 *   ARGV[5], [6]   the wake-up command and channel (see protocol.ts)
 *   ARGV[7], [8]…  per item: its tagged id ("s" .. string, or "n" .. number as JS prints
 *                  it), then its JSON text. The items are valid and unique among
 *                  themselves (checked in JavaScript before the call).
 *
 * Replies: the new JSON text; nil when the key is missing and nothing was appended (store
 * nothing); {"wrong-type"} when the key holds something that is not a JSON array;
 * {"too-large", bytes} when the result would be over maxValueBytes (nothing written in
 * those two cases); {"replay", text?} when this request already took effect (the list as
 * it is now: the first reply is not kept, to keep records small).
 *
 * Why it never re-encodes: Redis's cjson turns `[]` into `{}`, prints numbers with 14
 * significant digits and escapes `/`. The stored text is decoded only to read the ids;
 * the new value is the stored text with the new items' own JSON spliced in before `]`.
 *
 * Ids compare by type and value (SPEC.md: `1` and `"1"` differ): strings and numbers go
 * in two tables. Numbers are compared as doubles: cjson and `tonumber` both parse with
 * strtod, as `JSON.parse` does, so 12345678901234567890 or 0.1 give the same double on
 * both sides, however they are spelled.
 *
 * cjson refuses a lone UTF-16 surrogate escape ("\ud800"), which `JSON.stringify` writes
 * for a string that holds one. `spellOutLoneSurrogates` escapes the backslash of such an
 * escape before decoding, so the string decodes to the six characters `\ud800`; JavaScript
 * spells ids and idKey out the same way (`spellOut` below). Only ids matter here, and the
 * stored text is never rewritten, so values keep their surrogates.
 */
export const LIST_APPEND = defineScript(
  "listAppendUnique",
  String.raw`
local function spellOutLoneSurrogates(s)
  -- A plain search first: most lists hold no \u escape at all, and it is far cheaper
  -- than a pattern scan of the whole text.
  if not string.find(s, '\\u', 1, true) then return s end
  if not string.find(s, '\\u[dD][89a-fA-F]') then return s end
  local out, pos = {}, 1
  while true do
    -- a run of backslashes, then u and a surrogate code unit
    local first, last, slashes, hex = string.find(s, '(\\+)u([dD][89a-fA-F]%x%x)', pos)
    if not first then break end
    local escaped = #slashes % 2 == 1
    local paired = escaped and tonumber(hex, 16) < 0xDC00
      and string.find(s, '^\\u[dD][c-fC-F]%x%x', last + 1) ~= nil
    if escaped and not paired then
      out[#out + 1] = string.sub(s, pos, last - 5) .. '\\u' .. string.lower(hex)
      pos = last + 1
    elseif paired then
      out[#out + 1] = string.sub(s, pos, last + 6)
      pos = last + 7
    else
      out[#out + 1] = string.sub(s, pos, last)
      pos = last + 1
    end
  end
  out[#out + 1] = string.sub(s, pos)
  return table.concat(out)
end

-- The record is its own check (SET NX answers nil when the request already ran); a call
-- that changes nothing because it fails takes its record back (\`refuse\`).
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then
  local now = redis.call('GET', KEYS[1])
  if now then return {'replay', now} end
  return {'replay'}
end
local function refuse(reply)
  redis.call('DEL', KEYS[2])
  return reply
end
-- True when no element of the stored text can hold any new item's id, read without
-- decoding it: the text has no escape at all, every new id is a string that JSON writes
-- without one, and none of them occurs in the text as a JSON string. An element holding
-- the id would hold exactly that quoted text. Fresh ids (an inbox's usual append) take
-- this path; anything else decodes the list.
--
-- The text is trusted to be JSON when it has a list's shape, an array of objects ('[{'
-- to '}]'), as LIST_POP trusts any '[': every value this library writes is JSON. Any
-- other text (an array holding other values, or another program's non-JSON) is decoded,
-- which checks it.
local function noneStored(raw)
  if not (string.find(raw, '^%[{') and string.sub(raw, -2) == '}]') then return false end
  if string.find(raw, '\\', 1, true) then return false end
  for i = 7, #ARGV, 2 do
    local tag = ARGV[i]
    if string.sub(tag, 1, 1) ~= 's' then return false end
    local id = string.sub(tag, 2)
    if string.find(id, '[%c"\\]') then return false end
    if string.find(raw, '"' .. id .. '"', 1, true) then return false end
  end
  return true
end

local raw = redis.call('GET', KEYS[1])
local keepTtl = ARGV[1] == ''
local parts = {}
local stored = 0

-- A JSON array starts with '[' (the check cjson cannot make: '{}' and '[]' both decode
-- to an empty table).
if raw and not string.find(raw, '^%s*%[') then return refuse({'wrong-type'}) end
if not raw then
  for i = 8, #ARGV, 2 do parts[#parts + 1] = ARGV[i] end
elseif noneStored(raw) then
  for i = 8, #ARGV, 2 do parts[#parts + 1] = ARGV[i] end
  -- Below, only whether the list held elements matters.
  if not string.find(raw, '^%s*%[%s*%]%s*$') then stored = 1 end
else
  local ok, list = pcall(cjson.decode, spellOutLoneSurrogates(raw))
  if not ok or type(list) ~= 'table' then return refuse({'wrong-type'}) end
  stored = #list
  local idKey = ARGV[3]
  local strings, numbers = {}, {}
  for i = 1, stored do
    local element = list[i]
    if type(element) == 'table' then
      local id = element[idKey]
      if type(id) == 'string' then
        strings[id] = true
      elseif type(id) == 'number' and id == id and id ~= math.huge and id ~= -math.huge then
        numbers[id] = true
      end
    end
  end
  for i = 7, #ARGV, 2 do
    local tag = ARGV[i]
    local seen
    if string.sub(tag, 1, 1) == 's' then
      seen = strings[string.sub(tag, 2)]
    else
      seen = numbers[tonumber(string.sub(tag, 2))]
    end
    if not seen then parts[#parts + 1] = ARGV[i + 1] end
  end
end

if #parts == 0 then
  if not raw then return false end
  if not keepTtl then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  return raw
end

local text
if stored > 0 then
  text = string.match(raw, '^(.*)%]%s*$') .. ',' .. table.concat(parts, ',') .. ']'
else
  text = '[' .. table.concat(parts, ',') .. ']'
end
if #text > tonumber(ARGV[2]) then return refuse({'too-large', #text}) end

if keepTtl then
  redis.call('SET', KEYS[1], text, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], text, 'PX', ARGV[1])
end
-- Only a list that was empty (or missing) wakes waiting pops: a waiter found the list
-- empty before it waited, so an append to a list that held items had a predecessor that
-- filled it, and woke the waiter then.
if stored == 0 then wake(ARGV[5], ARGV[6]) end
return text
`,
);

/**
 * An id as the append script compares it: a type tag, then the value. A number is
 * printed as JavaScript prints it, which Lua parses back to the very same double; a
 * string has its lone surrogates spelled out as the script does.
 */
function tagOf(id: ItemId): string {
  return typeof id === "string" ? `s${spellOut(id)}` : `n${id}`;
}

/** Lone surrogates as the six characters `\udxxx`: the text a Lua string can hold. */
function spellOut(text: string): string {
  if (text.isWellFormed()) return text;
  return text.replace(/[\ud800-\udfff]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** EVALSHA's arguments for LIST_APPEND: the key, its record, then ARGV as above. */
export function listAppendArgv(
  key: string,
  record: string,
  append: PreparedAppend,
  maxValueBytes: number,
  recordMs: string,
  wake: readonly [string, string],
): ScriptArgv {
  const argv: ScriptArgv = [
    LIST_APPEND.sha,
    2,
    key,
    record,
    pxOf(append.ttlMs),
    maxValueBytes,
    spellOut(append.idKey),
    recordMs,
    wake[0],
    wake[1],
  ];
  for (const item of append.items) argv.push(tagOf(item.id), item.text);
  return argv;
}
