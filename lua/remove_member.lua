#!lua
-- remove_member.lua: a member leaves, or an admin/owner removes a member.
-- KEYS[1] conv hash            sb:conv:{C}
-- KEYS[2] members hash         sb:conv:{C}:members
-- KEYS[3] joined zset          sb:conv:{C}:joined
-- KEYS[4] read pointers hash   sb:conv:{C}:read
-- KEYS[5] messages stream      sb:conv:{C}:msgs    (deleted with the conv)
-- KEYS[6] edits hash           sb:conv:{C}:edits   (deleted with the conv)
-- KEYS[7] offline set          sb:conv:{C}:offline (the target leaves it)
-- KEYS[8..12] reactions hash, reactors zset, pins hash (deleted with the
--         conv), delivered pointers hash, muted hash (the target leaves them)
-- ARGV[1] convId   ARGV[2] actorId   ARGV[3] targetId
-- Rules: actor == target: leave (any member). Otherwise the actor must be
--   owner or admin, the target must not be the owner, only the owner may
--   remove an admin, and nobody is removed from a direct conversation.
-- When the owner leaves, the longest-standing admin becomes owner, else the
-- longest-standing member (join time from the joined zset, ties by id); not
-- in a direct conversation, which has no owner (leaving one hides it for the
-- leaver only: the other side keeps it and its history).
-- When the last member leaves, all twelve keys are deleted (nonce keys expire
-- by themselves).
-- Returns: Redis array {status, newOwner}: status "removed" or "deleted";
--   newOwner is the id of the new owner when ownership moved, else "".
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation, or the
--   target is not a member), NOT_MEMBER (actor is not a member),
--   FORBIDDEN (rules above).
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

if #KEYS ~= 12 then return err("INVALID", "remove_member expects 12 keys") end
local convId, actorId, targetId = ARGV[1], ARGV[2], ARGV[3]
if (convId or "") == "" or (actorId or "") == "" or (targetId or "") == "" then
  return err("INVALID", "convId, actorId and targetId are required")
end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local actorRole = redis.call("HGET", KEYS[2], actorId)
if not actorRole then return err("NOT_MEMBER", "not a member of this conversation") end
local targetRole = redis.call("HGET", KEYS[2], targetId)
if not targetRole then return err("NOT_FOUND", "user is not a member of this conversation") end
if actorId ~= targetId then
  if redis.call("HGET", KEYS[1], "kind") == "direct" then return err("FORBIDDEN", "nobody can be removed from a direct conversation") end
  if actorRole ~= "owner" and actorRole ~= "admin" then return err("FORBIDDEN", "only the owner or an admin may remove members") end
  if targetRole == "owner" then return err("FORBIDDEN", "the owner cannot be removed") end
  if targetRole == "admin" and actorRole ~= "owner" then return err("FORBIDDEN", "only the owner may remove an admin") end
end

emit("member.removed", nil, {conv = convId, user = targetId, by = actorId})
redis.call("HDEL", KEYS[2], targetId)
redis.call("ZREM", KEYS[3], targetId)
redis.call("HDEL", KEYS[4], targetId)
redis.call("SREM", KEYS[7], targetId)
redis.call("HDEL", KEYS[11], targetId)
redis.call("HDEL", KEYS[12], targetId)
if redis.call("HLEN", KEYS[2]) == 0 then
  local gone = redis.call("HMGET", KEYS[1], "kind", "name")
  emit("conversation.deleted", nil, {conversation = {id = convId, kind = gone[1], name = gone[2]}, by = actorId})
  redis.call("DEL", unpack(KEYS))
  return {"deleted", ""}
end
if targetRole ~= "owner" or redis.call("HGET", KEYS[1], "kind") == "direct" then return {"removed", ""} end

-- hand-over: walk the joined zset in (join time, id) order; the first admin
-- wins, else the first member.
local best, first, start = nil, nil, 0
while not best do
  local ids = redis.call("ZRANGE", KEYS[3], start, start + 99)
  if #ids == 0 then break end
  local roles = redis.call("HMGET", KEYS[2], unpack(ids))
  for i, id in ipairs(ids) do
    if roles[i] == "admin" then best = id; break end
    if roles[i] and not first then first = id end
  end
  start = start + 100
end
best = best or first or redis.call("HKEYS", KEYS[2])[1] -- last resort: zset out of step
local previous = redis.call("HGET", KEYS[2], best)
redis.call("HSET", KEYS[2], best, "owner")
emit("member.role_changed", nil, {conv = convId, user = best, role = "owner", previous = previous, by = actorId})
return {"removed", best}
