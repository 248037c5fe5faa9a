#!lua
-- create_user.lua: write a new user's hash (its username already claimed by
-- the caller with SET NX) and emit user.created.
-- KEYS[1] user hash             sb:user:{U}
-- ARGV[1] user id   ARGV[2] username (as typed)   ARGV[3] displayName
-- ARGV[4] createdAt, ms   ARGV[5] password (scrypt string); "" = none: the
--   user signs in through the app's own login (server API), stored as
--   external = 1 like users of external tokens.
-- Returns: 1 when created, 0 when a user with this id existed (nothing written).
-- Errors: INVALID (bad ARGV / key count).
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

local id, username, displayName, password = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local createdAt = tonumber(ARGV[4] or "")
if #KEYS ~= 1 or (id or "") == "" or (username or "") == "" or (displayName or "") == "" or not createdAt or password == nil then
  return redis.error_reply("INVALID create_user expects 1 key and id, username, displayName, createdAt, password")
end
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "id", id, "username", username, "displayName", displayName, "createdAt", createdAt)
if password ~= "" then redis.call("HSET", KEYS[1], "password", password)
else redis.call("HSET", KEYS[1], "external", "1") end
emit("user.created", createdAt, {user = {id = id, username = username, displayName = displayName, createdAt = createdAt}})
return 1
