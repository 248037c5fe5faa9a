#!lua
-- follow.lua: follow or unfollow a user, on the followee's side.
-- KEYS[1] followee's user hash       sb:user:{U}
-- KEYS[2] followee's followers zset  sb:user:{U}:followers
-- ARGV[1] followerId   ARGV[2] "1" follow, "0" unfollow   ARGV[3] now, ms
-- Effects: ZADD NX followers now followerId, or ZREM. The follower's
--   following zset (sb:user:{F}:following, another slot) is updated by the
--   caller right after, with the result.
-- Returns: {changed (1|0), followers count}.
-- Errors: INVALID, NOT_FOUND (no such user).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 2 then return err("INVALID", "follow expects 2 keys") end
local follower, mode, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if (follower or "") == "" or (mode ~= "1" and mode ~= "0") or not now then return err("INVALID", "follow expects followerId, 1|0, now") end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "user not found") end
local changed
if mode == "1" then changed = redis.call("ZADD", KEYS[2], "NX", now, follower) else changed = redis.call("ZREM", KEYS[2], follower) end
return {changed, redis.call("ZCARD", KEYS[2])}
