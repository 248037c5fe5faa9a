#!lua
-- delete_user.lua: delete a user's own keys (their messages stay, still
-- carrying their id) and emit user.deleted.
-- KEYS[1] user hash             sb:user:{U}
-- KEYS[2] conversations set     sb:user:{U}:convs
-- KEYS[3] sessions hash         sb:user:{U}:sessions
-- KEYS[4] notifications list    sb:notifications:{U}
-- ARGV[1] user id   ARGV[2] now, ms
-- Returns: the username as typed (to release its claim and search entry),
--   or false when the user did not exist (nothing emitted).
-- Errors: INVALID (bad ARGV / key count).
-- Event stream (optional): KEYS[5] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 5 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

local user, now = ARGV[1], tonumber(ARGV[2] or "")
if #KEYS ~= 4 or (user or "") == "" or not now then
  return redis.error_reply("INVALID delete_user expects 4 keys and user, now")
end
local username = redis.call("HGET", KEYS[1], "username")
if not username then return false end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4])
emit("user.deleted", now, {user = {id = user, username = username}})
return username
