#!lua
-- presence_refresh.lua: the node heartbeat keeps a user's live entries alive
-- (one call per user with local connections, all in one pipeline per tick).
-- KEYS[1] sockets zset     sb:sockets:{U}
-- KEYS[2] presence hash    sb:presence:{U}
-- ARGV[1] now, ms   ARGV[2] new expiry of the entries, ms   ARGV[3] TTL of both keys, seconds
-- ARGV[4] presence channel   ARGV[5] user id   ARGV[6..] members "node/connection" (at least one)
-- Effects: sets the entries' expiry, drops expired ones, refreshes both TTLs;
--   a presence hash that had expired comes back as "online" (and is published).
-- Returns: the number of live connections.
-- Errors: INVALID (bad ARGV).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local now, expiry, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if #KEYS ~= 2 or not now or not expiry or not ttl or ttl <= 0 or (ARGV[5] or "") == "" or #ARGV < 6 then
  return redis.error_reply("INVALID presence_refresh expects 2 keys and now, expiry, ttl, channel, user, members")
end
for i = 6, #ARGV do redis.call("ZADD", KEYS[1], expiry, ARGV[i]) end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
redis.call("EXPIRE", KEYS[1], ttl)
if redis.call("EXISTS", KEYS[2]) == 0 then
  redis.call("HSET", KEYS[2], "status", "online", "since", now)
  if ARGV[4] ~= "" then
    redis.call(PUBLISH, ARGV[4], cjson.encode({ev = "presence", user = ARGV[5], status = "online", lastSeen = cjson.null}))
  end
end
redis.call("EXPIRE", KEYS[2], ttl)
return redis.call("ZCARD", KEYS[1])
