#!lua
-- presence_disconnect.lua: connections of a user close (one connection, or
-- every connection a dead or stopping node had).
-- KEYS[1] sockets zset     sb:sockets:{U}
-- KEYS[2] presence hash    sb:presence:{U}
-- KEYS[3] user hash        sb:user:{U}         (lastSeen is written here)
-- ARGV[1] now, ms   ARGV[2] presence channel (sb:live:presence:{U})   ARGV[3] user id
-- ARGV[4] mode: "member" = remove the entry ARGV[5];
--               "node"   = remove every entry that starts with ARGV[5] .. "/"
-- Effects: when no live entry is left: deletes both keys, sets lastSeen = now
--   on an existing user hash, and PUBLISHes {"ev":"presence","user","status":"offline","lastSeen"}
--   (in "node" mode always: the dead node's keys may have expired already).
-- Returns: the number of live connections left.
-- Errors: INVALID (bad ARGV).
-- Event stream (optional): KEYS[4] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 4 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end
local now = tonumber(ARGV[1])
if #KEYS ~= 3 or not now or (ARGV[3] or "") == "" or (ARGV[4] ~= "member" and ARGV[4] ~= "node") or (ARGV[5] or "") == "" then
  return redis.error_reply("INVALID presence_disconnect expects 3 keys and now, channel, user, mode, member")
end
if ARGV[4] == "member" then
  redis.call("ZREM", KEYS[1], ARGV[5])
else
  local prefix = ARGV[5] .. "/"
  for _, member in ipairs(redis.call("ZRANGE", KEYS[1], 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix then redis.call("ZREM", KEYS[1], member) end
  end
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local left = redis.call("ZCARD", KEYS[1])
if left > 0 then return left end
local wasOnline = redis.call("EXISTS", KEYS[2]) == 1
redis.call("DEL", KEYS[1], KEYS[2])
if redis.call("EXISTS", KEYS[3]) == 1 then redis.call("HSET", KEYS[3], "lastSeen", now) end
if (wasOnline or ARGV[4] == "node") and ARGV[2] ~= "" then
  redis.call(PUBLISH, ARGV[2], cjson.encode({ev = "presence", user = ARGV[3], status = "offline", lastSeen = now}))
end
if wasOnline or ARGV[4] == "node" then emit("presence.offline", now, {user = ARGV[3], lastSeen = now}) end
return 0
