#!lua
-- react.lua: add or remove one user's reaction (an emoji) on a message.
-- KEYS[1] conv hash          sb:conv:{C}
-- KEYS[2] members hash       sb:conv:{C}:members
-- KEYS[3] messages stream    sb:conv:{C}:msgs
-- KEYS[4] edits hash         sb:conv:{C}:edits      (a deleted message takes no reaction)
-- KEYS[5] reactions hash     sb:conv:{C}:reactions  (messageId → {"👍":3,…} JSON)
-- KEYS[6] reactors zset      sb:conv:{C}:reactors   (members "<msgId>\31<emoji>\31<userId>",
--         all scores 0: who reacted, paged by ZRANGEBYLEX)
-- ARGV[1] convId   ARGV[2] userId   ARGV[3] messageId   ARGV[4] emoji (validated by the caller)
-- ARGV[5] "1" add, "0" remove   ARGV[6] distinct emoji allowed per message (20)
-- ARGV[7] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- ARGV[8] origin ("node/connection", "" = none): added to the event when given
-- One reaction per user and emoji: adding twice or removing one that is not
-- there changes nothing and publishes nothing.
-- Effects: ZADD/ZREM the reactor; the message's counts in the reactions hash
--   (an emoji at 0 is dropped, a message without any is HDEL'd); PUBLISH
--   {"ev":"reaction","conv","id","emoji","user","on","count"[,"origin"]}.
-- Returns: {changed (1|0), count of this emoji now}.
-- Errors: INVALID (bad ARGV / key count / malformed id), NOT_FOUND (no
--   conversation, no such message, message deleted), NOT_MEMBER,
--   CONFLICT (a new emoji past ARGV[6] distinct ones).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 6 then return err("INVALID", "react expects 6 keys") end
local convId, userId, msgId, emoji, on, channel, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[7], ARGV[8]
local max = tonumber(ARGV[6] or "")
if (convId or "") == "" or (userId or "") == "" or (emoji or "") == "" or (on ~= "1" and on ~= "0") or not max or channel == nil then
  return err("INVALID", "react expects convId, userId, messageId, emoji, 1|0, max, channel")
end
if #emoji > 64 or emoji:find("[%z\1-\32\127]") then return err("INVALID", "malformed emoji") end
if type(msgId) ~= "string" or not msgId:match("^%d+%-%d+$") then return err("INVALID", "malformed message id") end

if not redis.call("HGET", KEYS[1], "kind") then return err("NOT_FOUND", "conversation not found") end
if not redis.call("HGET", KEYS[2], userId) then return err("NOT_MEMBER", "not a member of this conversation") end
local ok, entries = pcall(redis.call, "XRANGE", KEYS[3], msgId, msgId)
if not ok then return err("INVALID", "malformed message id") end
if not entries[1] or entries[1][1] ~= msgId then return err("NOT_FOUND", "message not found") end
local edit = redis.call("HGET", KEYS[4], msgId)
if edit and cjson.decode(edit).deleted then return err("NOT_FOUND", "message was deleted") end

local raw = redis.call("HGET", KEYS[5], msgId)
local counts = raw and cjson.decode(raw) or {}
local member = msgId .. "\31" .. emoji .. "\31" .. userId
local changed = 0
if on == "1" then
  if not redis.call("ZSCORE", KEYS[6], member) then
    if not counts[emoji] then
      local distinct = 0
      for _ in pairs(counts) do distinct = distinct + 1 end
      if distinct >= max then return err("CONFLICT", "at most " .. max .. " different reactions per message") end
    end
    redis.call("ZADD", KEYS[6], 0, member)
    counts[emoji] = (tonumber(counts[emoji]) or 0) + 1
    changed = 1
  end
elseif redis.call("ZREM", KEYS[6], member) == 1 then
  local left = (tonumber(counts[emoji]) or 1) - 1
  counts[emoji] = left > 0 and left or nil
  changed = 1
end
local count = tonumber(counts[emoji]) or 0
if changed == 1 then
  if next(counts) == nil then redis.call("HDEL", KEYS[5], msgId) else redis.call("HSET", KEYS[5], msgId, cjson.encode(counts)) end
  if channel ~= "" then
    local ev = {ev = "reaction", conv = convId, id = msgId, emoji = emoji, user = userId, on = on == "1", count = count}
    if (origin or "") ~= "" then ev.origin = origin end
    redis.call(PUBLISH, channel, cjson.encode(ev))
  end
end
return {changed, count}
