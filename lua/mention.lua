#!lua
-- mention.lua: a `mention` notification for a member named as @username in
-- a group or room message, stored whether or not the user is connected.
-- KEYS[1] notifications zset   sb:notifs:{U}   (members "<seq, 20 digits>|<json>", as notify.lua)
-- KEYS[2] sockets zset         sb:sockets:{U}
-- KEYS[3] user hash            sb:user:{U}
-- ARGV[1] notification JSON (its "id" is ARGV[8])   ARGV[2] now, ms
-- ARGV[3] keep at most (100)   ARGV[4] TTL, seconds (86400)
-- ARGV[5] the message's time: the ms part of its stream id (score)
-- ARGV[6] the message's seq   ARGV[7] channel (sb:live:user:{U}), "" = none
-- ARGV[8] the notification's id
-- Effects: ZADD, drop all but the newest ARGV[3], EXPIRE ARGV[4]; when the
--   user has a live socket, PUBLISH {"ev":"notification","notification":…}
--   and mark it pushed (`pushedNotification` in the user hash), so the
--   next connect does not push it again.
-- Returns: 1 when pushed live, 0 when only stored.
-- Errors: INVALID.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function uint(s)
  if type(s) == "string" and #s <= 20 and s:match("^%d+$") then return tonumber(s) end
end
local now, keep, ttl, score, seq, channel, id = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), uint(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
if #KEYS ~= 3 or (ARGV[1] or "") == "" or not now or not keep or keep < 1 or not ttl or ttl <= 0 or not score
  or type(seq) ~= "string" or #seq > 20 or not seq:match("^%d+$") or channel == nil or (id or "") == "" then
  return redis.error_reply("INVALID mention expects 3 keys and json, now, keep, ttl, time, seq, channel, id")
end
redis.call("ZADD", KEYS[1], score, string.rep("0", 20 - #seq) .. seq .. "|" .. ARGV[1])
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -(keep + 1))
redis.call("EXPIRE", KEYS[1], ttl)
if channel ~= "" and redis.call("ZCOUNT", KEYS[2], "(" .. now, "+inf") > 0 then
  redis.call(PUBLISH, channel, '{"ev":"notification","notification":' .. ARGV[1] .. '}')
  redis.call("HSET", KEYS[3], "pushedNotification", id)
  return 1
end
return 0
