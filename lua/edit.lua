#!lua
-- edit.lua: replace the text of a message; author only.
-- KEYS[1] conv hash          sb:conv:{C}
-- KEYS[2] members hash       sb:conv:{C}:members
-- KEYS[3] messages stream    sb:conv:{C}:msgs
-- KEYS[4] edits hash         sb:conv:{C}:edits
-- ARGV[1] convId   ARGV[2] userId (editor)   ARGV[3] messageId (stream id "ms-n")
-- ARGV[4] new text (non-empty)   ARGV[5] ts, ms integer (becomes editedAt)
-- ARGV[6] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- ARGV[7] origin (optional, "node/connection"); added to the event when given
-- Effects: edits[messageId] = {"text":..,"editedAt":ts}; the conv's
--   lastMessage is updated when it is this message; PUBLISH
--   {"ev":"message.edited","message":<msg>[,"origin":<origin>]}; the message
--   keeps its attachments, replyTo and post (as stored).
-- Returns: the current message JSON (with "editedAt").
-- Errors: INVALID (bad ARGV / key count / malformed id), NOT_FOUND (no
--   conversation, no such message or message deleted), NOT_MEMBER,
--   FORBIDDEN (not the author).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local function uint(s)
  if type(s) == "string" and #s <= 14 and s:match("^%d+$") then return tonumber(s) end
end
-- Event stream (optional): KEYS[5] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 5 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 4 then return err("INVALID", "edit expects 4 keys") end
local convId, userId, msgId, text, channel, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6], ARGV[7]
local ts = uint(ARGV[5])
if (convId or "") == "" or (userId or "") == "" or channel == nil then
  return err("INVALID", "edit expects convId, userId, messageId, text, ts, channel")
end
if type(msgId) ~= "string" or not msgId:match("^%d+%-%d+$") then return err("INVALID", "malformed message id") end
if (text or "") == "" then return err("INVALID", "text must not be empty") end
if not ts then return err("INVALID", "ts must be a non-negative integer") end

if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
if not redis.call("HGET", KEYS[2], userId) then return err("NOT_MEMBER", "not a member of this conversation") end
local ok, entries = pcall(redis.call, "XRANGE", KEYS[3], msgId, msgId)
if not ok then return err("INVALID", "malformed message id") end
local entry = entries[1]
if not entry or entry[1] ~= msgId then return err("NOT_FOUND", "message not found") end
local f = {}
for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
local prev = redis.call("HGET", KEYS[4], msgId)
if prev and cjson.decode(prev).deleted then return err("NOT_FOUND", "message was deleted") end
if f.from ~= userId then return err("FORBIDDEN", "only the author may edit a message") end

redis.call("HSET", KEYS[4], msgId, cjson.encode({text = text, editedAt = ts}))
local msg = {id = msgId, conv = convId, seq = tonumber(f.seq), from = f.from, kind = f.kind or "text",
             text = text, ts = tonumber(f.ts), nonce = f.nonce, editedAt = ts}
-- What a rich message carries stays with it (stored as JSON in the entry).
for _, name in ipairs({"attachments", "replyTo", "post"}) do
  if f[name] then msg[name] = cjson.decode(f[name]) end
end
local json = cjson.encode(msg)
local last = redis.call("HGET", KEYS[1], "lastMessage")
if last and cjson.decode(last).id == msgId then redis.call("HSET", KEYS[1], "lastMessage", json) end
if channel ~= "" then
  local ev = {ev = "message.edited", message = msg}
  if (origin or "") ~= "" then ev.origin = origin end
  redis.call(PUBLISH, channel, cjson.encode(ev))
end
emit("message.edited", ts, {message = msg, by = userId})
return json
