#!lua
-- update_conversation.lua: change a conversation's name and/or description.
-- KEYS[1] conv hash      sb:conv:{C}
-- KEYS[2] members hash   sb:conv:{C}:members
-- ARGV[1] convId   ARGV[2] actorId (must be owner or admin)
-- ARGV[3..] field/value pairs, at least one pair; fields: name, description
--   (a field not passed is left unchanged; "" is a valid value).
-- Returns: the conversation JSON after the change: {"id","kind","name",
--   "description","public":bool,"createdBy","createdAt","seq","lastTs",
--   "lastMessage"?:{message}} (no members).
-- Errors: INVALID (bad ARGV / key count / unknown field), NOT_FOUND,
--   NOT_MEMBER, FORBIDDEN (not owner/admin; a direct conversation, which
--   neither side renames for the other).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
-- Event stream (optional): KEYS[3] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 3 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 2 then return err("INVALID", "update_conversation expects 2 keys") end
local convId, actorId = ARGV[1], ARGV[2]
if (convId or "") == "" or (actorId or "") == "" then return err("INVALID", "convId and actorId are required") end
if #ARGV < 4 or #ARGV % 2 ~= 0 then return err("INVALID", "expected field/value pairs") end
for i = 3, #ARGV, 2 do
  if ARGV[i] ~= "name" and ARGV[i] ~= "description" then return err("INVALID", "unknown field " .. ARGV[i]) end
end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local role = redis.call("HGET", KEYS[2], actorId)
if not role then return err("NOT_MEMBER", "not a member of this conversation") end
if redis.call("HGET", KEYS[1], "kind") == "direct" then return err("FORBIDDEN", "a direct conversation cannot be renamed or described") end
if role ~= "owner" and role ~= "admin" then return err("FORBIDDEN", "only the owner or an admin may update the conversation") end

redis.call("HSET", KEYS[1], unpack(ARGV, 3))
local h, c = redis.call("HGETALL", KEYS[1]), {}
for i = 1, #h, 2 do c[h[i]] = h[i + 1] end
c.public = c.public == "1"
c.createdAt, c.seq, c.lastTs = tonumber(c.createdAt), tonumber(c.seq), tonumber(c.lastTs)
if c.lastMessage then c.lastMessage = cjson.decode(c.lastMessage) end
local json = cjson.encode(c)
emit("conversation.updated", nil, '{"conversation":' .. json .. ',"by":' .. cjson.encode(actorId) .. '}')
return json
