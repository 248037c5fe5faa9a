-- notify.lua: store a notification for a user who has no open connection.
-- KEYS[1] notifications list   sb:notifications:{U}
-- KEYS[2] sockets zset         sb:sockets:{U}
-- ARGV[1] notification JSON   ARGV[2] now, ms   ARGV[3] keep at most (100)   ARGV[4] TTL, seconds (86400)
-- Effects: only when the user has no live connection: LPUSH, LTRIM to the
--   newest ARGV[3], EXPIRE ARGV[4].
-- Returns: 1 when stored, 0 when the user is connected.
-- Errors: INVALID (bad ARGV).
local now, keep, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if #KEYS ~= 2 or (ARGV[1] or "") == "" or not now or not keep or keep < 1 or not ttl or ttl <= 0 then
  return redis.error_reply("INVALID notify expects 2 keys and json, now, keep, ttl")
end
if redis.call("ZCOUNT", KEYS[2], "(" .. now, "+inf") > 0 then return 0 end
redis.call("LPUSH", KEYS[1], ARGV[1])
redis.call("LTRIM", KEYS[1], 0, keep - 1)
redis.call("EXPIRE", KEYS[1], ttl)
return 1
