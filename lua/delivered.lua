#!lua
-- delivered.lua: move a member's delivered pointer forward (like read.lua).
-- KEYS[1] conv hash                 sb:conv:{C}
-- KEYS[2] members hash              sb:conv:{C}:members
-- KEYS[3] delivered pointers hash   sb:conv:{C}:delivered
-- ARGV[1] convId   ARGV[2] userId
-- ARGV[3] seq: non-negative integer; past the newest message it is clamped
--         to the conversation's seq; below the current pointer it changes
--         nothing (pointers only move forward)
-- ARGV[4] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- Publishes {"ev":"delivered","conv":C,"user":U,"seq":n} only when the
-- pointer moved and the conversation is direct or a group (rooms keep the
-- pointer but announce nothing).
-- Returns: the pointer (integer).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation), NOT_MEMBER.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 3 then return err("INVALID", "delivered expects 3 keys") end
local convId, userId, seqArg, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if (convId or "") == "" or (userId or "") == "" or channel == nil then
  return err("INVALID", "delivered expects convId, userId, seq, channel")
end
if type(seqArg) ~= "string" or not seqArg:match("^%d+$") then
  return err("INVALID", "seq must be a non-negative integer")
end
local conv = redis.call("HMGET", KEYS[1], "kind", "seq")
if not conv[1] then return err("NOT_FOUND", "conversation not found") end
if not redis.call("HGET", KEYS[2], userId) then return err("NOT_MEMBER", "not a member of this conversation") end
local convSeq = tonumber(conv[2]) or 0
local seq = tonumber(seqArg)
if seq > convSeq then seq = convSeq end
local pointer = tonumber(redis.call("HGET", KEYS[3], userId)) or 0
if seq > pointer then
  pointer = seq
  redis.call("HSET", KEYS[3], userId, pointer)
  if channel ~= "" and conv[1] ~= "room" then
    redis.call(PUBLISH, channel, cjson.encode({ev = "delivered", conv = convId, user = userId, seq = pointer}))
  end
end
return pointer
