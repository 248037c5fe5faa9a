#!lua
-- presence_status.lua: a user picks a status for all their connections.
-- KEYS[1] presence hash    sb:presence:{U}
-- KEYS[2] sockets zset     sb:sockets:{U}
-- ARGV[1] status: online|away|busy   ARGV[2] now, ms   ARGV[3] presence channel   ARGV[4] user id
-- Effects: HSET status, since (keeping the key's TTL); PUBLISHes
--   {"ev":"presence","user","status","lastSeen":null} when the status changed.
-- Returns: the status.
-- Errors: INVALID (bad status), NOT_FOUND (the user has no live connection).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local status, now = ARGV[1], tonumber(ARGV[2])
if #KEYS ~= 2 or not now or (ARGV[4] or "") == "" then
  return redis.error_reply("INVALID presence_status expects 2 keys and status, now, channel, user")
end
if status ~= "online" and status ~= "away" and status ~= "busy" then
  return redis.error_reply("INVALID status must be online, away or busy")
end
if redis.call("EXISTS", KEYS[1]) == 0 or redis.call("ZCARD", KEYS[2]) == 0 then
  return redis.error_reply("NOT_FOUND no live connection for this user")
end
local previous = redis.call("HGET", KEYS[1], "status")
redis.call("HSET", KEYS[1], "status", status, "since", now)
if previous ~= status and ARGV[3] ~= "" then
  redis.call(PUBLISH, ARGV[3], cjson.encode({ev = "presence", user = ARGV[4], status = status, lastSeen = cjson.null}))
end
return status
