#!lua
-- add_members.lua: add users to a group or room.
-- KEYS[1] conv hash            sb:conv:{C}
-- KEYS[2] members hash         sb:conv:{C}:members
-- KEYS[3] joined zset          sb:conv:{C}:joined
-- KEYS[4] read pointers hash   sb:conv:{C}:read
-- KEYS[5] offline set          sb:conv:{C}:offline (groups: added members go
--         in; the node of a connected one takes it out)
-- ARGV[1] convId   ARGV[2] actorId   ARGV[3] ts, ms integer (join time)
-- ARGV[4] mode: "admin" = the actor must be owner/admin of a group or room;
--               "self"  = the actor joins a public room: exactly one user id,
--                         equal to actorId (no membership needed)
--               "server" = the app's backend (server API): any group or room
-- ARGV[5..] user ids to add (at least one)
-- New members get role "member", join time ts and a read pointer at the
-- current seq: earlier messages do not count as unread for them (history
-- stays readable). Existing members are skipped untouched. lastTs unchanged.
-- Returns: Redis array of the ids actually added (possibly empty).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation),
--   NOT_MEMBER (the actor is not a member: admin mode, or self mode on
--   anything but a public room), FORBIDDEN (admin mode: actor not
--   owner/admin, or direct conversation; self mode: another user's id).
--   Self mode by someone already a member adds nothing.
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local function uint(s)
  if type(s) == "string" and #s <= 14 and s:match("^%d+$") then return tonumber(s) end
end
-- Event stream (optional): KEYS[6] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 6 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 5 then return err("INVALID", "add_members expects 5 keys") end
local convId, actorId, mode = ARGV[1], ARGV[2], ARGV[4]
local ts = uint(ARGV[3])
if (convId or "") == "" or (actorId or "") == "" then return err("INVALID", "convId and actorId are required") end
if not ts then return err("INVALID", "ts must be a non-negative integer") end
if mode ~= "admin" and mode ~= "self" and mode ~= "server" then return err("INVALID", "mode must be admin, self or server") end
if #ARGV < 5 then return err("INVALID", "no user ids given") end
for i = 5, #ARGV do
  if ARGV[i] == "" then return err("INVALID", "empty user id") end
end

if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local conv = redis.call("HMGET", KEYS[1], "kind", "public", "seq")
local kind, public, seq = conv[1], conv[2], conv[3] or "0"
if mode == "self" then
  if #ARGV ~= 5 or ARGV[5] ~= actorId then return err("FORBIDDEN", "self mode adds only the actor") end
  if kind ~= "room" or public ~= "1" then
    if not redis.call("HGET", KEYS[2], actorId) then
      return err("NOT_MEMBER", "not a member of this conversation (only public rooms can be joined freely)")
    end
    return {}
  end
elseif mode == "server" then
  if kind == "direct" then return err("FORBIDDEN", "a direct conversation cannot get more members") end
else
  local role = redis.call("HGET", KEYS[2], actorId)
  if not role then return err("NOT_MEMBER", "not a member of this conversation") end
  if role ~= "owner" and role ~= "admin" then return err("FORBIDDEN", "only the owner or an admin may add members") end
  if kind == "direct" then return err("FORBIDDEN", "a direct conversation cannot get more members") end
end

local added = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  if redis.call("HSETNX", KEYS[2], id, "member") == 1 then
    redis.call("ZADD", KEYS[3], ts, id)
    redis.call("HSET", KEYS[4], id, seq)
    if kind ~= "room" then redis.call("SADD", KEYS[5], id) end
    added[#added + 1] = id
  end
end
for _, id in ipairs(added) do emit("member.added", ts, {conv = convId, user = id, role = "member", by = actorId}) end
return added
