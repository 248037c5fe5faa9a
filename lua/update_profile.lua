-- update_profile.lua: set profile fields of an existing user, never creating one.
-- KEYS[1] user hash             sb:user:{U}
-- ARGV[1..] field, value pairs (displayName, bio, avatar)
-- Returns: 1 when updated, 0 when the user does not exist.
-- Errors: INVALID (odd number of arguments or an unknown field).
if #ARGV == 0 or #ARGV % 2 ~= 0 then return redis.error_reply("INVALID expected field/value pairs") end
local allowed = { displayName = true, bio = true, avatar = true }
for i = 1, #ARGV, 2 do
  if not allowed[ARGV[i]] then return redis.error_reply("INVALID unknown profile field " .. tostring(ARGV[i])) end
end
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], unpack(ARGV))
return 1
