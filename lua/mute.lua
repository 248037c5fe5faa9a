#!lua
-- mute.lua: a member mutes a conversation until a time, or unmutes it.
-- KEYS[1] conv hash      sb:conv:{C}
-- KEYS[2] members hash   sb:conv:{C}:members
-- KEYS[3] muted hash     sb:conv:{C}:muted   (userId → until, ms)
-- ARGV[1] userId   ARGV[2] until, ms integer (0 or not after ARGV[3] = unmute)
-- ARGV[3] now, ms
-- Muted members get no `message` notification of this conversation until
-- then; mentions still notify. Expired entries are dropped by the next
-- mute of the conversation (and with the member or the conversation).
-- Returns: the until stored (0 = not muted).
-- Errors: INVALID, NOT_FOUND (no conversation), NOT_MEMBER.
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local function uint(s)
  if type(s) == "string" and #s <= 14 and s:match("^%d+$") then return tonumber(s) end
end
if #KEYS ~= 3 then return err("INVALID", "mute expects 3 keys") end
local userId, untilMs, now = ARGV[1], uint(ARGV[2]), uint(ARGV[3])
if (userId or "") == "" or not untilMs or not now then return err("INVALID", "mute expects userId, until, now") end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
if not redis.call("HGET", KEYS[2], userId) then return err("NOT_MEMBER", "not a member of this conversation") end
local all = redis.call("HGETALL", KEYS[3])
for i = 1, #all, 2 do
  if (tonumber(all[i + 1]) or 0) <= now then redis.call("HDEL", KEYS[3], all[i]) end
end
if untilMs <= now then
  redis.call("HDEL", KEYS[3], userId)
  return 0
end
redis.call("HSET", KEYS[3], userId, untilMs)
return untilMs
