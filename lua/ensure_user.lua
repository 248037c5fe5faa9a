#!lua
-- ensure_user.lua: create the minimal record of a user known from an
-- external token (the app's own backend), once.
-- KEYS[1] user hash             sb:user:{U}
-- ARGV[1] user id   ARGV[2] username   ARGV[3] createdAt, ms
-- Returns: 1 when created, 0 when the user already existed.
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
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "id", ARGV[1], "username", ARGV[2], "displayName", ARGV[2],
  "createdAt", ARGV[3], "external", "1")
emit("user.created", tonumber(ARGV[3]), {user = {id = ARGV[1], username = ARGV[2], displayName = ARGV[2], createdAt = tonumber(ARGV[3])}})
return 1
