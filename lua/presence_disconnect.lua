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
  redis.call("PUBLISH", ARGV[2], cjson.encode({ev = "presence", user = ARGV[3], status = "offline", lastSeen = now}))
end
return 0
