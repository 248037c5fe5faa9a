#!lua
-- offline.lua: a member's last connection closed: the member goes into the
-- conversation's offline set, which `send` reads to know who gets a
-- notification. (Connecting takes the member out again with a plain SREM.)
-- KEYS[1] conv hash        sb:conv:{C}
-- KEYS[2] members hash     sb:conv:{C}:members
-- KEYS[3] offline set      sb:conv:{C}:offline
-- ARGV[1] user id
-- Effects: SADD, only for a member of a direct or group conversation (rooms
--   notify on @mentions only and keep no offline set; a user removed
--   meanwhile is not added back).
-- Returns: 1 when the user is (now) in the set, 0 when not a member or a room.
-- Errors: INVALID (bad ARGV / key count).
if #KEYS ~= 3 or (ARGV[1] or "") == "" then
  return redis.error_reply("INVALID offline expects 3 keys and a user id")
end
local kind = redis.call("HGET", KEYS[1], "kind")
if not kind or kind == "room" then return 0 end
if not redis.call("HGET", KEYS[2], ARGV[1]) then return 0 end
redis.call("SADD", KEYS[3], ARGV[1])
return 1
