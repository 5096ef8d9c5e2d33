import { defineScript } from "./protocol.js";

/**
 * `listPopAll` that loses no item when its reply is lost (README "Exactly once"): the
 * list moves from its key into a per-pop record, a field of the key's in-flight hash, and
 * stays there until the caller has the items and acknowledges them (a later pop of the
 * same key carries the acknowledgement, or a deferred HDEL does). Mirrors core's
 * `decodeList` check (lists.ts): only a JSON array is popped, anything else is
 * KV_WRONG_TYPE and kept.
 *
 *   KEYS[1]  the list's key
 *   KEYS[2]  the key's in-flight hash (same slot, exactly-once/side-keys.ts): field = pop
 *            id, value = "<lease end, server ms>|<the popped list's JSON>"
 *   ARGV[1]  this pop's id
 *   ARGV[2]  the lease in ms: how long the items stay reserved for this caller
 *   ARGV[3…] ids of earlier pops of this key whose items the caller received: deleted
 *
 * A record whose lease ended belongs to a popper that is gone (it neither acknowledged
 * nor put the items back): this pop takes its items over, ahead of the list's own (they
 * were popped first). They may repeat items appended again since: at-least-once across a
 * crash (SPEC.md), never dropped.
 *
 * Replies: {"popped", json, recovered (0/1)}; {"replay", json} when this pop already ran
 * (its reply was lost, the same request came again); {"empty", ms} with nothing to pop,
 * ms = time until the next in-flight record of the key may be taken over, or -1;
 * {"wrong-type"} when the key holds something that is not a JSON array (kept).
 *
 * The check reads only the first character: every value this library writes is valid
 * JSON, so an array is exactly a value that starts with '['.
 */
export const LIST_POP = defineScript(
  "listPopAll",
  `
-- The acknowledgements, in HDELs of up to 500 fields (unpack is bounded by Lua's C stack).
for first = 3, #ARGV, 500 do
  redis.call('HDEL', KEYS[2], unpack(ARGV, first, math.min(first + 499, #ARGV)))
end
-- Most pops find no in-flight hash: one EXISTS then spares the HGET and the HGETALL.
local inFlight = redis.call('EXISTS', KEYS[2]) == 1
if inFlight then
  local mine = redis.call('HGET', KEYS[2], ARGV[1])
  if mine then return {'replay', string.sub(mine, string.find(mine, '|', 1, true) + 1)} end
end

local raw = redis.call('GET', KEYS[1])
if raw and not string.find(raw, '^%s*%[') then return {'wrong-type'} end
if not raw and not inFlight then return {'empty', -1} end

local function inner(text)
  local body = string.match(text, '^%s*%[(.*)%]%s*$')
  if body and string.find(body, '%S') then return body end
  return nil
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local parts = {}
local recovered = 0
local nextDue = -1
if inFlight then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local value = all[i + 1]
    local bar = string.find(value, '|', 1, true)
    local due = tonumber(string.sub(value, 1, bar - 1))
    if due <= now then
      local body = inner(string.sub(value, bar + 1))
      if body then
        parts[#parts + 1] = body
        recovered = 1
      end
      redis.call('HDEL', KEYS[2], all[i])
    elseif nextDue < 0 or due - now < nextDue then
      nextDue = due - now
    end
  end
end

local text
if raw then
  redis.call('DEL', KEYS[1])
  if #parts == 0 then
    -- The common case, nothing taken over: the list goes as it is stored, uncopied.
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
redis.call('HSET', KEYS[2], ARGV[1], (now + tonumber(ARGV[2])) .. '|' .. text)
return {'popped', text, recovered}
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
for i = 1, #KEYS do deleted = deleted + redis.call('HDEL', KEYS[i], ARGV[i]) end
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
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields, texts = {}, {}
local nextDue = -1
if ARGV[1] ~= '' then
  local value = redis.call('HGET', KEYS[2], ARGV[1])
  if not value then return {'none', -1} end
  fields[1] = ARGV[1]
  texts[1] = string.sub(value, string.find(value, '|', 1, true) + 1)
else
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local value = all[i + 1]
    local bar = string.find(value, '|', 1, true)
    local due = tonumber(string.sub(value, 1, bar - 1))
    if due <= now then
      fields[#fields + 1] = all[i]
      texts[#texts + 1] = string.sub(value, bar + 1)
    elseif nextDue < 0 or due - now < nextDue then
      nextDue = due - now
    end
  end
  if #fields == 0 then return {'none', nextDue} end
end
local raw = redis.call('GET', KEYS[1])
if raw and not string.find(raw, '^%s*%[') then
  if ARGV[1] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], '0|' .. texts[1]) end
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
for _, field in ipairs(fields) do redis.call('HDEL', KEYS[2], field) end
wake(ARGV[2], ARGV[3])
return {'restored', nextDue}
`,
);
