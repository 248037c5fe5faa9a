#!lua
-- send.lua: append a message to a conversation (text; with extras also
-- attachments, a reply or a shared post), atomically and at most once per nonce.
-- KEYS[1] conv hash             sb:conv:{C}
-- KEYS[2] members hash          sb:conv:{C}:members
-- KEYS[3] messages stream       sb:conv:{C}:msgs
-- KEYS[4] read pointers hash    sb:conv:{C}:read
-- KEYS[5] nonce string          sb:conv:{C}:nonce:<userId>:<nonce>
--         (always passed; only touched when ARGV[5] is not "")
-- KEYS[6] offline set           sb:conv:{C}:offline (members without a live
--         connection, kept by the nodes; direct and group conversations only)
-- ARGV[1] convId   ARGV[2] userId (sender)   ARGV[3] text (non-empty)
-- ARGV[4] ts, ms integer   ARGV[5] nonce, "" = none
-- ARGV[6] maxlen: stream retention (XADD MAXLEN ~ n), 0 = never trim
-- ARGV[7] channel to PUBLISH on (sb:live:conv:{C}), "" = do not publish
-- ARGV[8] origin, opaque "node/connection" string, "" allowed
-- Rich sends only (attachments, a reply, a shared post): three more keys and
-- one more argument; a text send passes neither and costs nothing more.
-- KEYS[7] edits hash         sb:conv:{C}:edits (the quoted message's state)
-- KEYS[8] reply counts hash  sb:conv:{C}:replies (message id -> replies)
-- KEYS[9] thread index zset  sb:conv:{C}:thread (score 0, members
--         "<original id>|<reply ms, 15 digits>-<reply n, 10 digits>")
-- ARGV[9] extras JSON: {"kind":"image"|"file"|"post"?, "attachments":[{id,
--         name, type, size, url}]?, "post":{id, author, text, createdAt}?,
--         "replyTo":"<message id>"?}, checked and built by the node (the
--         files and the post live in other slots); text may then be "".
-- Effects: HINCRBY seq; XADD {seq, from, kind (text unless extras say),
--   text, ts[, nonce][, attachments, replyTo, post]};
--   conv lastTs = max(lastTs, ts), lastMessage = message JSON; sender's read
--   pointer = seq; nonce key = message JSON, EX 600; PUBLISH
--   {"ev":"message","message":<msg>,"origin":<origin>}, exactly in this
--   order (nodes slice the frame out of it, see FanoutHub.decodeMessage).
-- Returns: {1, messageJSON, kind, offline} when stored, offline being the
--          members of the offline set but the sender (empty for a room):
--          who gets a notification, with no further read of the members;
--          {0, storedJSON} when the nonce was already used (nothing stored,
--          nothing published; storedJSON is the message as first sent).
-- messageJSON: {"id","conv","seq","from","kind","text","ts","nonce"?,
--   "epoch"? (the conversation's epoch; absent for one created before epochs),
--   "attachments"?, "replyTo": {id, from, text}?, "post"?}
-- A reply also HINCRBYs the original's count in KEYS[8] and adds the reply
-- to KEYS[9]; the stream entry keeps attachments, replyTo and post as JSON.
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation; the
--         replied-to message unknown or deleted), NOT_MEMBER (sender is not
--         a member).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local function uint(s) -- non-negative integer string (<= 14 digits, exact in JSON) or nil
  if type(s) == "string" and #s <= 14 and s:match("^%d+$") then return tonumber(s) end
end
-- Event stream (optional): KEYS[7] (KEYS[10] with extras) = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
-- (A rich send has 9 keys, 10 with the event stream.)
if #KEYS == 7 or #KEYS == 10 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 6 and #KEYS ~= 9 then return err("INVALID", "send expects 6 keys (9 with extras)") end
local convId, userId, text, nonce, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[5], ARGV[7]
local ts, maxlen, origin = uint(ARGV[4]), uint(ARGV[6]), ARGV[8]
local extras
if #KEYS == 9 then
  local ok, decoded = pcall(cjson.decode, ARGV[9] or "")
  if not ok or type(decoded) ~= "table" then return err("INVALID", "extras must be a JSON object") end
  extras = decoded
end
if (convId or "") == "" or (userId or "") == "" then return err("INVALID", "convId and userId are required") end
if (text or "") == "" and not (extras and (extras.attachments or extras.post)) then
  return err("INVALID", "text must not be empty")
end
if not ts then return err("INVALID", "ts must be a non-negative integer") end
if not maxlen then return err("INVALID", "maxlen must be a non-negative integer") end
if nonce == nil or channel == nil or origin == nil then return err("INVALID", "send expects 8 arguments") end

local conv = redis.call("HMGET", KEYS[1], "kind", "epoch")
local kind, epoch = conv[1], conv[2]
if not kind then return err("NOT_FOUND", "conversation not found") end
if not redis.call("HGET", KEYS[2], userId) then return err("NOT_MEMBER", "not a member of this conversation") end
if nonce ~= "" then
  local stored = redis.call("GET", KEYS[5])
  if stored then return {0, stored} end
end

-- The quote of the replied-to message: as it reads now, its first 200 bytes.
local quote, replyKey
if extras and extras.replyTo then
  local target = extras.replyTo
  if type(target) ~= "string" or not target:match("^%d+%-%d+$") then return err("NOT_FOUND", "replied-to message not found") end
  local found = redis.call("XRANGE", KEYS[3], target, target)[1]
  if not found then return err("NOT_FOUND", "replied-to message not found") end
  local f = {}
  for i = 1, #found[2], 2 do f[found[2][i]] = found[2][i + 1] end
  local original = f.text or ""
  local edit = redis.call("HGET", KEYS[7], target)
  if edit then
    edit = cjson.decode(edit)
    if edit.deleted then return err("NOT_FOUND", "replied-to message was deleted") end
    original = edit.text or original
  end
  if #original > 200 then -- cut at a UTF-8 boundary: never inside a character
    local cut = 201
    while cut > 1 and original:byte(cut) >= 0x80 and original:byte(cut) < 0xC0 do cut = cut - 1 end
    original = original:sub(1, cut - 1)
  end
  quote = {id = target, from = f.from, text = original}
  replyKey = target
end

local msgKind = "text"
if extras and extras.kind then
  msgKind = extras.kind
  if msgKind ~= "image" and msgKind ~= "file" and msgKind ~= "post" then return err("INVALID", "kind: image, file or post") end
end
local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
local fields = {"seq", seq, "from", userId, "kind", msgKind, "text", text, "ts", ts}
if nonce ~= "" then fields[#fields + 1] = "nonce"; fields[#fields + 1] = nonce end
if extras then
  for _, name in ipairs({"attachments", "post"}) do
    if extras[name] then fields[#fields + 1] = name; fields[#fields + 1] = cjson.encode(extras[name]) end
  end
  if quote then fields[#fields + 1] = "replyTo"; fields[#fields + 1] = cjson.encode(quote) end
end
local id
if maxlen > 0 then
  id = redis.call("XADD", KEYS[3], "MAXLEN", "~", maxlen, "*", unpack(fields))
else
  id = redis.call("XADD", KEYS[3], "*", unpack(fields))
end

local msg = {id = id, conv = convId, seq = seq, from = userId, kind = msgKind, text = text, ts = ts}
if nonce ~= "" then msg.nonce = nonce end
if epoch then msg.epoch = epoch end
if extras then
  msg.attachments, msg.post, msg.replyTo = extras.attachments, extras.post, quote
  if replyKey then
    redis.call("HINCRBY", KEYS[8], replyKey, 1)
    local ms, n = id:match("^(%d+)%-(%d+)$")
    redis.call("ZADD", KEYS[9], 0, replyKey .. "|" .. string.rep("0", 15 - #ms) .. ms .. "-" .. string.rep("0", 10 - #n) .. n)
  end
end
local json = cjson.encode(msg)
local lastTs = tonumber(redis.call("HGET", KEYS[1], "lastTs")) or 0
redis.call("HSET", KEYS[1], "lastTs", math.max(lastTs, ts), "lastMessage", json)
redis.call("HSET", KEYS[4], userId, seq)
if nonce ~= "" then redis.call("SET", KEYS[5], json, "EX", 600) end
if channel ~= "" then
  -- (cjson would write "/" as "\/": an origin of plain characters goes in as it is.)
  local quoted = origin:match("^[%w_%-%./:]*$") and ('"' .. origin .. '"') or cjson.encode(origin)
  -- Written in this order on purpose: nodes slice the client frame out of
  -- these bytes (everything but the origin) instead of parsing the JSON.
  redis.call(PUBLISH, channel, '{"ev":"message","message":' .. json .. ',"origin":' .. quoted .. '}')
end
emit("message.sent", ts, '{"message":' .. json .. '}')
local offline = {}
if kind ~= "room" then
  for _, id in ipairs(redis.call("SMEMBERS", KEYS[6])) do
    if id ~= userId then offline[#offline + 1] = id end
  end
end
return {1, json, kind, offline}
