import { defineScript } from "./protocol.js";

/**
 * What `LIST_POP` and `LIST_RELEASE` share: the in-flight hash's layout and the server's
 * clock.
 *
 * An in-flight hash (exactly-once/side-keys.ts) holds two fields per pop: `<pop id>` →
 * the popped list's JSON text, and `@<pop id>` → its lease end in server milliseconds
 * (pop ids never start with "@"). Both are written by one HSET and deleted by one HDEL,
 * and neither is ever copied or concatenated: the list text goes in as it was stored.
 * The lease end is computed by the backend from the server's clock as it last read it
 * (exactly-once/server-clock.ts) or, when it has no reading, by the script from TIME:
 * TIME and the arithmetic cost each pop about 2 µs of server time.
 */
const IN_FLIGHT = `
-- The server's time in ms, read once per script, and only by a script that needs it.
local nowMs
local function serverNow()
  if not nowMs then
    local t = redis.call('TIME')
    nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return nowMs
end
-- A pop's lease end in server ms: the backend's, or when it sent '', TIME + the lease.
local function leaseEnd(given, leaseMs)
  if given ~= '' then return given end
  return string.format('%d', serverNow() + tonumber(leaseMs))
end
-- The in-flight records of a hash, in the order they were written: {id, text, due}. A
-- record without a lease end counts as due; a lease end without a record is deleted. A
-- record of an earlier version, "<lease end>|<items>" in one field, is read as well
-- (a list's text never starts with a digit).
local function inFlightRecords(hash)
  local all = redis.call('HGETALL', hash)
  local ids, texts, dues = {}, {}, {}
  for i = 1, #all, 2 do
    local field = all[i]
    if string.byte(field, 1) == 64 then
      dues[string.sub(field, 2)] = tonumber(all[i + 1])
    else
      ids[#ids + 1] = field
      local text = all[i + 1]
      local legacyDue = string.match(text, '^(%d+)|')
      if legacyDue then
        dues[field] = dues[field] or tonumber(legacyDue)
        text = string.sub(text, #legacyDue + 2)
      end
      texts[field] = text
    end
  end
  local records = {}
  for _, id in ipairs(ids) do
    records[#records + 1] = {id = id, text = texts[id], due = dues[id] or 0}
    dues[id] = nil
  end
  for id in pairs(dues) do redis.call('HDEL', hash, '@' .. id) end
  return records
end
`;

/**
 * `listPopAll` that loses no item when its reply is lost (README "Exactly once"): the
 * list moves from its key into a per-pop record in the key's in-flight hash (`IN_FLIGHT`
 * above), and stays there until the caller has the items and acknowledges them (a later
 * pop of the same key carries the acknowledgement, or a batched HDEL does). Mirrors
 * core's `decodeList` check (lists.ts): only a JSON array is popped, anything else is
 * KV_WRONG_TYPE and kept.
 *
 *   KEYS[1]  the list's key
 *   KEYS[2]  the key's in-flight hash (same slot, exactly-once/side-keys.ts)
 *   ARGV[1]  this pop's id
 *   ARGV[2]  the lease in ms: how long the items stay reserved for this caller
 *   ARGV[3]  the lease's end in server ms, or '' for the script to work it out
 *   ARGV[4…] ids of earlier pops of this key whose items the caller received: deleted
 *
 * A record whose lease ended belongs to a popper that is gone (it neither acknowledged
 * nor put the items back): this pop takes its items over, ahead of the list's own (they
 * were popped first). They may repeat items appended again since: at-least-once across a
 * crash (SPEC.md), never dropped.
 *
 * Replies: the popped list's JSON text, a bare string (also when this pop already ran: its
 * reply was lost and the same request came again, the text it took then; a bare string is
 * the cheapest reply to read); {"empty", ms} with nothing to pop,
 * ms = time until the next in-flight record of the key may be taken over, or -1;
 * {"wrong-type"} when the key holds something that is not a JSON array (kept).
 *
 * The check reads only the first character: every value this library writes is valid
 * JSON, so an array is exactly a value that starts with '['.
 */
export const LIST_POP = defineScript(
  "listPopAll",
  `
-- The acknowledgements: each pop's two fields, in HDELs of up to 500 fields (unpack is
-- bounded by Lua's C stack).
if #ARGV > 3 then
  local fields = {}
  for i = 4, #ARGV do
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = '@' .. ARGV[i]
  end
  for first = 1, #fields, 500 do
    redis.call('HDEL', KEYS[2], unpack(fields, first, math.min(first + 499, #fields)))
  end
end

-- The common case: no in-flight hash, so nothing to replay or take over. The list goes as
-- it is stored, uncopied. This path comes first and defines no function: the helpers
-- below are closures made on every run that reaches them (about 0.5 µs a pop, measured).
if redis.call('EXISTS', KEYS[2]) == 0 then
  local raw = redis.call('GET', KEYS[1])
  if not raw then return {'empty', -1} end
  if not string.find(raw, '^%s*%[') then return {'wrong-type'} end
  redis.call('DEL', KEYS[1])
  if string.find(raw, '^%s*%[%s*%]%s*$') then return {'empty', -1} end
  local due = ARGV[3]
  if due == '' then
    local t = redis.call('TIME')
    due = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]))
  end
  redis.call('HSET', KEYS[2], ARGV[1], raw, '@' .. ARGV[1], due)
  return raw
end
${IN_FLIGHT}
-- The key has pops in flight: this may be a resend of one of them, and some may be
-- orphans whose lease ended.
local mine = redis.call('HGET', KEYS[2], ARGV[1])
if mine then return mine end

local raw = redis.call('GET', KEYS[1])
if raw and not string.find(raw, '^%s*%[') then return {'wrong-type'} end

-- The elements' text of a JSON array's text, or nil for an empty array.
local function inner(text)
  local body = string.match(text, '^%s*%[(.*)%]%s*$')
  if body and string.find(body, '%S') then return body end
  return nil
end

local parts = {}
local nextDue = -1
for _, record in ipairs(inFlightRecords(KEYS[2])) do
  local left = record.due - serverNow()
  if left <= 0 then
    local body = inner(record.text)
    if body then parts[#parts + 1] = body end
    redis.call('HDEL', KEYS[2], record.id, '@' .. record.id)
  elseif nextDue < 0 or left < nextDue then
    nextDue = left
  end
end

local text
if raw then
  redis.call('DEL', KEYS[1])
  if #parts == 0 then
    if not string.find(raw, '^%s*%[%s*%]%s*$') then text = raw end
  else
    local body = inner(raw)
    if body then parts[#parts + 1] = body end
  end
end
if not text then
  if #parts == 0 then return {'empty', nextDue} end
  text = '[' .. table.concat(parts, ',') .. ']'
end
redis.call('HSET', KEYS[2], ARGV[1], text, '@' .. ARGV[1], leaseEnd(ARGV[3], ARGV[2]))
return text
`,
);

/**
 * Acknowledgements of many pops, of any keys, in one command (a standalone server: a
 * Cluster sends one HDEL per key, in the key's slot): the callers have the items, so
 * the pops' records go.
 *
 *   KEYS[i]  the in-flight hash of the i-th acknowledged pop (repeated for several pops
 *            of one key)
 *   ARGV[i]  that pop's id
 *
 * Replies: the number of records deleted.
 */
export const LIST_ACK = defineScript(
  "listPopAll:ack",
  `
local deleted = 0
for i = 1, #KEYS do
  if redis.call('HDEL', KEYS[i], ARGV[i], '@' .. ARGV[i]) > 0 then deleted = deleted + 1 end
end
return deleted
`,
);

/**
 * Puts popped items back under their key, ahead of what was appended since, and wakes
 * waiting pops. An item whose `id` the list already holds again (its producer appended
 * it once more) is not put back twice: the list keeps one of each id, as core's
 * `itemsToAppend` (lists.ts) would.
 *
 * - The popper runs it (ARGV[1] = its pop id) once its call failed for good, as soon as
 *   the server can be reached again.
 * - A backend's recovery sweep runs it (ARGV[1] = "") on an in-flight hash it found: every
 *   pop whose lease ended (its process is gone) is put back.
 *
 *   KEYS[1]  the list's key
 *   KEYS[2]  the key's in-flight hash
 *   ARGV[1]  the pop's id, or "" for every pop whose lease ended
 *   ARGV[2], [3]  the wake-up command and channel (protocol.ts)
 *
 * Replies: {"restored", ms}, {"none", ms} (nothing to put back: the pop never ran, its
 * items were taken over, or no lease ended yet) or {"wrong-type", ms} when the key now
 * holds a non-list (a popper's record is then made due at once, so the next pop of the
 * key, once it holds a list again, takes it over); ms = time until the next lease of the
 * key's in-flight pops ends, or -1.
 */
export const LIST_RELEASE = defineScript(
  "listPopAll:release",
  `${IN_FLIGHT}
local fields, texts = {}, {}
local nextDue = -1
if ARGV[1] ~= '' then
  local text = redis.call('HGET', KEYS[2], ARGV[1])
  if not text then return {'none', -1} end
  fields[1] = ARGV[1]
  texts[1] = text
else
  for _, record in ipairs(inFlightRecords(KEYS[2])) do
    local left = record.due - serverNow()
    if left <= 0 then
      fields[#fields + 1] = record.id
      texts[#texts + 1] = record.text
    elseif nextDue < 0 or left < nextDue then
      nextDue = left
    end
  end
  if #fields == 0 then return {'none', nextDue} end
end
local raw = redis.call('GET', KEYS[1])
if raw and not string.find(raw, '^%s*%[') then
  if ARGV[1] ~= '' then redis.call('HSET', KEYS[2], '@' .. ARGV[1], '0') end
  return {'wrong-type', nextDue}
end

-- The elements of a JSON array's text, each as its own text (never re-encoded).
local function elements(text)
  local out, depth, inString, escaped, start = {}, 0, false, false, nil
  for i = 1, #text do
    local c = string.sub(text, i, i)
    if inString then
      if escaped then
        escaped = false
      elseif c == '\\\\' then
        escaped = true
      elseif c == '"' then
        inString = false
      end
    else
      if depth == 1 and not start and c ~= ',' and c ~= ']' and not string.find(c, '%s') then
        start = i
      end
      if c == '"' then
        inString = true
      elseif c == '[' or c == '{' then
        depth = depth + 1
      elseif c == ']' or c == '}' then
        depth = depth - 1
        if depth == 0 and start then
          out[#out + 1] = string.sub(text, start, i - 1)
          start = nil
        end
      elseif c == ',' and depth == 1 then
        if start then out[#out + 1] = string.sub(text, start, i - 1) end
        start = nil
      end
    end
  end
  return out
end

local theirs = {}
local appendedAgain = {}
if raw then
  theirs = elements(raw)
  for _, element in ipairs(theirs) do
    if string.sub(element, 1, 1) == '{' then appendedAgain[element] = true end
  end
end
-- The released items go back ahead of what was appended since. One is left out only
-- when the very same object (the same JSON text) was appended again meanwhile, as a
-- producer that retried would: never by an id field alone, since the idKey the items
-- were appended with is not known here and two different items may share an "id".
local parts = {}
for _, items in ipairs(texts) do
  for _, element in ipairs(elements(items)) do
    if not appendedAgain[element] then parts[#parts + 1] = element end
  end
end
for _, element in ipairs(theirs) do parts[#parts + 1] = element end
local text = '[' .. table.concat(parts, ',') .. ']'
if raw then
  redis.call('SET', KEYS[1], text, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], text)
end
for _, field in ipairs(fields) do redis.call('HDEL', KEYS[2], field, '@' .. field) end
wake(ARGV[2], ARGV[3])
return {'restored', nextDue}
`,
);
