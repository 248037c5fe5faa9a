#!lua
-- update_profile.lua: set profile fields of an existing user, never creating one.
-- KEYS[1] user hash             sb:user:{U}
-- ARGV[1..] field, value pairs (displayName, bio, avatar)
-- Returns: 1 when updated, 0 when the user does not exist.
-- Errors: INVALID (odd number of arguments or an unknown field).
-- Event stream (optional): KEYS[2] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 2 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end
if #ARGV == 0 or #ARGV % 2 ~= 0 then return redis.error_reply("INVALID expected field/value pairs") end
local allowed = { displayName = true, bio = true, avatar = true }
for i = 1, #ARGV, 2 do
  if not allowed[ARGV[i]] then return redis.error_reply("INVALID unknown profile field " .. tostring(ARGV[i])) end
end
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], unpack(ARGV))
if EVENTS then
  local h = redis.call("HMGET", KEYS[1], "id", "username", "displayName", "bio", "avatar", "createdAt")
  local user = {id = h[1], username = h[2], displayName = h[3], createdAt = tonumber(h[6])}
  if (h[4] or "") ~= "" then user.bio = h[4] end
  if (h[5] or "") ~= "" then user.avatar = h[5] end
  emit("user.updated", nil, {user = user})
end
return 1
