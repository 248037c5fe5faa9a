#!lua
-- read.lua: move a member's read pointer forward.
-- KEYS[1] conv hash            sb:conv:{C}
-- KEYS[2] members hash         sb:conv:{C}:members
-- KEYS[3] read pointers hash   sb:conv:{C}:read
-- ARGV[1] convId   ARGV[2] userId
-- ARGV[3] seq: non-negative integer; a seq past the newest message is
--         clamped to the conversation's seq; a lower one than the current
--         pointer leaves the pointer where it is (pointers only move forward)
-- ARGV[4] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- Publishes {"ev":"read","conv":C,"user":U,"seq":n} only when the pointer moved.
-- Returns: {unread, pointer} (integers; unread = conv seq - pointer).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation),
--         NOT_MEMBER.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
-- Event stream (optional): KEYS[4] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 4 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 3 then return err("INVALID", "read expects 3 keys") end
local convId, userId, seqArg, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if (convId or "") == "" or (userId or "") == "" or channel == nil then
  return err("INVALID", "read expects convId, userId, seq, channel")
end
if type(seqArg) ~= "string" or not seqArg:match("^%d+$") then
  return err("INVALID", "seq must be a non-negative integer")
end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
if not redis.call("HGET", KEYS[2], userId) then return err("NOT_MEMBER", "not a member of this conversation") end

local convSeq = tonumber(redis.call("HGET", KEYS[1], "seq")) or 0
local seq = tonumber(seqArg) -- any length: huge values are clamped below
if seq > convSeq then seq = convSeq end
local pointer = tonumber(redis.call("HGET", KEYS[3], userId)) or 0
if seq > pointer then
  pointer = seq
  redis.call("HSET", KEYS[3], userId, pointer)
  if channel ~= "" then
    redis.call(PUBLISH, channel, cjson.encode({ev = "read", conv = convId, user = userId, seq = pointer}))
  end
  emit("read.updated", nil, {conv = convId, user = userId, seq = pointer})
end
return {math.max(convSeq - pointer, 0), pointer}
