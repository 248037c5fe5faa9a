#!lua
-- post_like.lua: like or unlike a post; one like per user, counted here.
-- KEYS[1] post hash   sb:post:{P}
-- KEYS[2] likes set   sb:post:{P}:likes
-- ARGV[1] userId   ARGV[2] "1" like, "0" unlike
-- Effects: SADD/SREM the user; HINCRBY likes +1/-1 only when that changed.
-- Returns: {changed (1|0), likes, author}.
-- Errors: INVALID, NOT_FOUND (no such post).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 2 then return err("INVALID", "post_like expects 2 keys") end
local user, like = ARGV[1], ARGV[2]
if (user or "") == "" or (like ~= "1" and like ~= "0") then return err("INVALID", "post_like expects userId and 1|0") end
local author = redis.call("HGET", KEYS[1], "author")
if not author then return err("NOT_FOUND", "post not found") end
local changed
if like == "1" then changed = redis.call("SADD", KEYS[2], user) else changed = redis.call("SREM", KEYS[2], user) end
local likes
if changed == 1 then
  likes = redis.call("HINCRBY", KEYS[1], "likes", like == "1" and 1 or -1)
else
  likes = tonumber(redis.call("HGET", KEYS[1], "likes")) or 0
end
return {changed, likes, author}
