#!lua
-- send_system.lua: append a system message (from "system", kind "system",
-- sent by the app's backend through the server API) to a conversation; it is
-- stored, counted and delivered like any other message.
-- KEYS[1] conv hash             sb:conv:{C}
-- KEYS[2] messages stream       sb:conv:{C}:msgs
-- KEYS[3] offline set           sb:conv:{C}:offline
-- ARGV[1] convId   ARGV[2] text (non-empty)   ARGV[3] ts, ms integer
-- ARGV[4] maxlen: stream retention (XADD MAXLEN ~ n), 0 = never trim
-- ARGV[5] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- Effects: as send.lua, without membership, nonce or read pointer: HINCRBY
--   seq; XADD {seq, from=system, kind=system, text, ts}; lastTs,
--   lastMessage; PUBLISH {"ev":"message","message":<msg>,"origin":""} in
--   this order; emits message.sent. The message carries the conversation's
--   "epoch" (absent for one created before epochs), as in send.lua.
-- Returns: {1, messageJSON, kind, offline} (offline: every member in the
--   offline set, who get a notification).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation).
-- Event stream (optional): KEYS[4] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
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
local function uint(s)
  if type(s) == "string" and #s <= 14 and s:match("^%d+$") then return tonumber(s) end
end

local convId, text, ts, maxlen, channel = ARGV[1], ARGV[2], uint(ARGV[3]), uint(ARGV[4]), ARGV[5]
if #KEYS ~= 3 or (convId or "") == "" or (text or "") == "" or not ts or not maxlen or channel == nil then
  return redis.error_reply("INVALID send_system expects 3 keys and convId, text, ts, maxlen, channel")
end
local conv = redis.call("HMGET", KEYS[1], "kind", "epoch")
local kind, epoch = conv[1], conv[2]
if not kind then return redis.error_reply("NOT_FOUND conversation not found") end
local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
local fields = {"seq", seq, "from", "system", "kind", "system", "text", text, "ts", ts}
local id
if maxlen > 0 then id = redis.call("XADD", KEYS[2], "MAXLEN", "~", maxlen, "*", unpack(fields))
else id = redis.call("XADD", KEYS[2], "*", unpack(fields)) end
local json = cjson.encode({id = id, conv = convId, seq = seq, from = "system", kind = "system", text = text, ts = ts,
  epoch = epoch or nil})
local lastTs = tonumber(redis.call("HGET", KEYS[1], "lastTs")) or 0
redis.call("HSET", KEYS[1], "lastTs", math.max(lastTs, ts), "lastMessage", json)
if channel ~= "" then
  redis.call(PUBLISH, channel, '{"ev":"message","message":' .. json .. ',"origin":""}')
end
emit("message.sent", ts, '{"message":' .. json .. '}')
local offline = {}
if kind ~= "room" then offline = redis.call("SMEMBERS", KEYS[3]) end
return {1, json, kind, offline}
