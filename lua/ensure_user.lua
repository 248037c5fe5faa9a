-- ensure_user.lua: create the minimal record of a user known from an
-- external token (the app's own backend), once.
-- KEYS[1] user hash             sb:user:{U}
-- ARGV[1] user id   ARGV[2] username   ARGV[3] createdAt, ms
-- Returns: 1 when created, 0 when the user already existed.
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "id", ARGV[1], "username", ARGV[2], "displayName", ARGV[2],
  "createdAt", ARGV[3], "external", "1")
return 1
