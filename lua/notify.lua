#!lua
-- notify.lua: store a notification for a user who has no open connection.
-- KEYS[1] notifications zset   sb:notifs:{U}
-- KEYS[2] sockets zset         sb:sockets:{U}
-- ARGV[1] notification JSON   ARGV[2] now, ms   ARGV[3] keep at most (100)   ARGV[4] TTL, seconds (86400)
-- ARGV[5] the message's time: the ms part of its stream id (score)
-- ARGV[6] the message's seq
-- Order by construction: the score is the message's stream time and the
--   member starts with its seq, zero-padded to 20 digits, then "|" and the
--   JSON. Notification jobs run concurrently and may arrive in any order;
--   ZREVRANGE still lists them newest first in message order (ties of one
--   ms: by seq).
-- Effects: only when the user has no live connection: ZADD, drop all but
--   the newest ARGV[3], EXPIRE ARGV[4].
-- Returns: 1 when stored, 0 when the user is connected.
-- Errors: INVALID (bad ARGV).
local function uint(s)
  if type(s) == "string" and #s <= 20 and s:match("^%d+$") then return tonumber(s) end
end
local now, keep, ttl, score = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), uint(ARGV[5])
local seq = ARGV[6]
if #KEYS ~= 2 or (ARGV[1] or "") == "" or not now or not keep or keep < 1 or not ttl or ttl <= 0 or not score
  or type(seq) ~= "string" or #seq > 20 or not seq:match("^%d+$") then
  return redis.error_reply("INVALID notify expects 2 keys and json, now, keep, ttl, time, seq")
end
if redis.call("ZCOUNT", KEYS[2], "(" .. now, "+inf") > 0 then return 0 end
redis.call("ZADD", KEYS[1], score, string.rep("0", 20 - #seq) .. seq .. "|" .. ARGV[1])
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -(keep + 1))
redis.call("EXPIRE", KEYS[1], ttl)
return 1
