#!lua
-- ban.lua: ban a user (their tokens and refresh tokens are refused, their
-- sockets close) or lift the ban.
-- KEYS[1] user hash             sb:user:{U}   fields bannedUntil, banReason
-- ARGV[1] user id   ARGV[2] mode: "ban" | "unban"   ARGV[3] now, ms
-- ARGV[4] until, ms; 0 = until lifted (ban only)   ARGV[5] reason, "" = none (ban only)
-- Effects: ban: HSET bannedUntil, banReason; unban: HDEL both. Emits
--   user.banned {user, until, reason} / user.unbanned {user}; unbanning a
--   user who is not banned changes nothing and emits nothing.
-- Returns: 1 when changed, 0 when nothing changed.
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no such user).
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

local user, mode, now = ARGV[1], ARGV[2], tonumber(ARGV[3] or "")
if #KEYS ~= 1 or (user or "") == "" or not now or (mode ~= "ban" and mode ~= "unban") then
  return redis.error_reply("INVALID ban expects 1 key and user, mode (ban|unban), now[, until, reason]")
end
if redis.call("EXISTS", KEYS[1]) == 0 then return redis.error_reply("NOT_FOUND no such user") end
if mode == "unban" then
  if redis.call("HDEL", KEYS[1], "bannedUntil", "banReason") == 0 then return 0 end
  emit("user.unbanned", now, {user = user})
  return 1
end
local untilMs, reason = tonumber(ARGV[4] or ""), ARGV[5] or ""
if not untilMs then return redis.error_reply("INVALID until must be ms (0 = until lifted)") end
redis.call("HSET", KEYS[1], "bannedUntil", untilMs, "banReason", reason)
emit("user.banned", now, {user = user, ["until"] = untilMs > 0 and untilMs or cjson.null, reason = reason ~= "" and reason or cjson.null})
return 1
