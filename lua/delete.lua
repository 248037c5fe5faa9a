#!lua
-- delete.lua: delete a message (soft: it keeps its id and seq); allowed for
-- its author and for the conversation's admins and owner. In a direct
-- conversation only for its author, whatever the roles say (both sides are
-- equal; direct conversations created before this rule still have an owner).
-- KEYS[1] conv hash          sb:conv:{C}
-- KEYS[2] members hash       sb:conv:{C}:members
-- KEYS[3] messages stream    sb:conv:{C}:msgs
-- KEYS[4] edits hash         sb:conv:{C}:edits
-- ARGV[1] convId   ARGV[2] userId (actor)   ARGV[3] messageId (stream id "ms-n")
-- ARGV[4] ts, ms integer (stored as deletedAt)
-- ARGV[5] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- ARGV[6] origin (optional, "node/connection"); added to the event when given
-- Effects: edits[messageId] = {"deleted":true,"deletedAt":ts}; the conv's
--   lastMessage is updated when it is this message; PUBLISH
--   {"ev":"message.deleted","message":<msg>[,"origin":<origin>]}.
-- Returns: the message JSON as it now reads: "text":"", "deleted":true
--   (no editedAt).
-- Errors: INVALID (bad ARGV / key count / malformed id), NOT_FOUND (no
--   conversation, no such message or already deleted), NOT_MEMBER,
--   FORBIDDEN (neither author nor admin/owner).
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

if #KEYS ~= 4 then return err("INVALID", "delete expects 4 keys") end
local convId, userId, msgId, channel, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[5], ARGV[6]
local ts = uint(ARGV[4])
if (convId or "") == "" or (userId or "") == "" or channel == nil then
  return err("INVALID", "delete expects convId, userId, messageId, ts, channel")
end
if type(msgId) ~= "string" or not msgId:match("^%d+%-%d+$") then return err("INVALID", "malformed message id") end
if not ts then return err("INVALID", "ts must be a non-negative integer") end

if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local role = redis.call("HGET", KEYS[2], userId)
if not role then return err("NOT_MEMBER", "not a member of this conversation") end
local ok, entries = pcall(redis.call, "XRANGE", KEYS[3], msgId, msgId)
if not ok then return err("INVALID", "malformed message id") end
local entry = entries[1]
if not entry or entry[1] ~= msgId then return err("NOT_FOUND", "message not found") end
local f = {}
for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
local prev = redis.call("HGET", KEYS[4], msgId)
if prev and cjson.decode(prev).deleted then return err("NOT_FOUND", "message was already deleted") end
if f.from ~= userId then
  if redis.call("HGET", KEYS[1], "kind") == "direct" then
    return err("FORBIDDEN", "in a direct conversation only the author may delete a message")
  end
  if role ~= "admin" and role ~= "owner" then
    return err("FORBIDDEN", "only the author or an admin may delete a message")
  end
end

redis.call("HSET", KEYS[4], msgId, cjson.encode({deleted = true, deletedAt = ts}))
local msg = {id = msgId, conv = convId, seq = tonumber(f.seq), from = f.from, kind = f.kind or "text",
             text = "", ts = tonumber(f.ts), nonce = f.nonce, deleted = true}
local json = cjson.encode(msg)
local last = redis.call("HGET", KEYS[1], "lastMessage")
if last and cjson.decode(last).id == msgId then redis.call("HSET", KEYS[1], "lastMessage", json) end
if channel ~= "" then
  local ev = {ev = "message.deleted", message = msg}
  if (origin or "") ~= "" then ev.origin = origin end
  redis.call(PUBLISH, channel, cjson.encode(ev))
end
emit("message.deleted", ts, {message = msg, by = userId})
return json
