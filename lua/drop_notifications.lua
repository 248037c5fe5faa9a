#!lua
-- drop_notifications.lua: remove a user's notifications of one conversation
-- (it was deleted, or the user left it).
-- KEYS[1] notifications zset   sb:notifs:{U}   (members "<seq, 20 digits>|<json>")
-- ARGV[1] convId
-- Returns: the number of notifications removed.
-- Errors: INVALID (bad ARGV / key count).
if #KEYS ~= 1 or (ARGV[1] or "") == "" then
  return redis.error_reply("INVALID drop_notifications expects 1 key and a convId")
end
local removed = 0
for _, member in ipairs(redis.call("ZRANGE", KEYS[1], 0, -1)) do
  local ok, item = pcall(cjson.decode, string.sub(member, 22))
  if not ok or type(item) ~= "table" or item.conv == ARGV[1] then
    removed = removed + redis.call("ZREM", KEYS[1], member)
  end
end
return removed
