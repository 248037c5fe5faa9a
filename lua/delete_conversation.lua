#!lua
-- delete_conversation.lua: the owner deletes a conversation and all its keys.
-- KEYS[1] conv hash            sb:conv:{C}
-- KEYS[2] members hash         sb:conv:{C}:members
-- KEYS[3] joined zset          sb:conv:{C}:joined
-- KEYS[4] read pointers hash   sb:conv:{C}:read
-- KEYS[5] messages stream      sb:conv:{C}:msgs
-- KEYS[6] edits hash           sb:conv:{C}:edits
-- KEYS[7] offline set          sb:conv:{C}:offline
-- KEYS[8..12] reactions hash, reactors zset, pins hash, delivered pointers
--         hash, muted hash (sb:conv:{C}:reactions, :reactors, :pins,
--         :delivered, :muted)
-- ARGV[1] convId   ARGV[2] actorId (must be the owner)
-- Nonce keys are not deleted; they expire within 10 minutes.
-- Returns: Redis array of the ids that were members (so the caller can update
--   each user's conversation index and notify them).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND, NOT_MEMBER,
--   FORBIDDEN (not the owner, or a direct conversation: those have no owner
--   and are only left by each side, see remove_member.lua).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
-- Event stream (optional): KEYS[13] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 13 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 12 then return err("INVALID", "delete_conversation expects 12 keys") end
local convId, actorId = ARGV[1], ARGV[2]
if (convId or "") == "" or (actorId or "") == "" then return err("INVALID", "convId and actorId are required") end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local role = redis.call("HGET", KEYS[2], actorId)
if not role then return err("NOT_MEMBER", "not a member of this conversation") end
if redis.call("HGET", KEYS[1], "kind") == "direct" then
  return err("FORBIDDEN", "a direct conversation is left by each side, not deleted")
end
if role ~= "owner" then return err("FORBIDDEN", "only the owner may delete the conversation") end
local members = redis.call("HKEYS", KEYS[2])
local gone = redis.call("HMGET", KEYS[1], "kind", "name")
emit("conversation.deleted", nil, {conversation = {id = convId, kind = gone[1], name = gone[2]}, by = actorId})
redis.call("DEL", unpack(KEYS))
return members
