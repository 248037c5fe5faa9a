#!lua
-- refresh_use.lua: read a refresh token and mark it used, in one step.
-- KEYS[1] refresh token hash   sb:refresh:<sha256 hex>   fields user, family, used
-- Effects: HINCRBY used 1, only when the token exists (so an expired key is
--   never recreated, without a TTL, by the increment).
-- Returns: {user, family, uses after this call}, or an empty array when the
--   token is unknown or expired.
-- Errors: INVALID (key count).
if #KEYS ~= 1 then return redis.error_reply("INVALID refresh_use expects 1 key") end
local h = redis.call("HMGET", KEYS[1], "user", "family")
if not h[1] or not h[2] then return {} end
return {h[1], h[2], redis.call("HINCRBY", KEYS[1], "used", 1)}
