#!lua
-- pin.lua: pin or unpin a message of a conversation.
-- KEYS[1] conv hash          sb:conv:{C}
-- KEYS[2] members hash       sb:conv:{C}:members
-- KEYS[3] messages stream    sb:conv:{C}:msgs
-- KEYS[4] edits hash         sb:conv:{C}:edits   (a deleted message cannot be pinned)
-- KEYS[5] pins hash          sb:conv:{C}:pins    (messageId → {"at":ms,"by":userId})
-- ARGV[1] convId   ARGV[2] userId   ARGV[3] messageId   ARGV[4] "1" pin, "0" unpin
-- ARGV[5] pins allowed per conversation (50)   ARGV[6] now, ms
-- ARGV[7] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- Rules: in a direct conversation both sides may pin; in groups and rooms
--   the owner and admins. Pinning a pinned message (or unpinning one that
--   is not) changes nothing and publishes nothing. Unpinning works for a
--   message that was since deleted or trimmed.
-- Effects: HSET/HDEL the pin; PUBLISH {"ev":"pin","conv","id","on","by"}.
-- Returns: {changed (1|0), pins now}.
-- Errors: INVALID, NOT_FOUND (no conversation; pin: no such message or
--   deleted), NOT_MEMBER, FORBIDDEN (a plain member of a group or room),
--   CONFLICT (pin: ARGV[5] pins already).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local function uint(s)
  if type(s) == "string" and #s <= 14 and s:match("^%d+$") then return tonumber(s) end
end
if #KEYS ~= 5 then return err("INVALID", "pin expects 5 keys") end
local convId, userId, msgId, on, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[7]
local max, now = uint(ARGV[5]), uint(ARGV[6])
if (convId or "") == "" or (userId or "") == "" or (on ~= "1" and on ~= "0") or not max or not now or channel == nil then
  return err("INVALID", "pin expects convId, userId, messageId, 1|0, max, now, channel")
end
if type(msgId) ~= "string" or not msgId:match("^%d+%-%d+$") then return err("INVALID", "malformed message id") end

local kind = redis.call("HGET", KEYS[1], "kind")
if not kind then return err("NOT_FOUND", "conversation not found") end
local role = redis.call("HGET", KEYS[2], userId)
if not role then return err("NOT_MEMBER", "not a member of this conversation") end
if kind ~= "direct" and role ~= "owner" and role ~= "admin" then
  return err("FORBIDDEN", "only the owner and admins may pin messages")
end
local changed = 0
if on == "1" then
  if redis.call("HEXISTS", KEYS[5], msgId) == 0 then
    local ok, entries = pcall(redis.call, "XRANGE", KEYS[3], msgId, msgId)
    if not ok then return err("INVALID", "malformed message id") end
    if not entries[1] or entries[1][1] ~= msgId then return err("NOT_FOUND", "message not found") end
    local edit = redis.call("HGET", KEYS[4], msgId)
    if edit and cjson.decode(edit).deleted then return err("NOT_FOUND", "message was deleted") end
    if redis.call("HLEN", KEYS[5]) >= max then return err("CONFLICT", "at most " .. max .. " pinned messages per conversation") end
    redis.call("HSET", KEYS[5], msgId, cjson.encode({at = now, by = userId}))
    changed = 1
  end
else
  changed = redis.call("HDEL", KEYS[5], msgId)
end
if changed == 1 and channel ~= "" then
  redis.call(PUBLISH, channel, cjson.encode({ev = "pin", conv = convId, id = msgId, on = on == "1", by = userId}))
end
return {changed, redis.call("HLEN", KEYS[5])}
