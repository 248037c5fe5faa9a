#!lua
-- create_conversation.lua: create a conversation with its first members, or
-- return the existing one with that id (direct conversations use an id
-- derived from the pair, so the same pair gets one conversation).
-- KEYS[1] conv hash            sb:conv:{C}
-- KEYS[2] members hash         sb:conv:{C}:members
-- KEYS[3] joined zset          sb:conv:{C}:joined
-- KEYS[4] read pointers hash   sb:conv:{C}:read
-- KEYS[5] offline set          sb:conv:{C}:offline (direct and group: every
--         added member goes in; the node of a connected one takes it out)
-- ARGV[1] convId   ARGV[2] kind: direct|group|room   ARGV[3] name ("" allowed)
-- ARGV[4] public: "1"|"0" ("1" only for rooms)   ARGV[5] createdBy (user id)
-- ARGV[6] createdAt, ms integer (also the join time of the members)
-- ARGV[7] epoch: a fresh random string (1-64 of A-Z a-z 0-9 _ -) for this
--   incarnation of the id; kept only when the conversation is created now (a
--   direct conversation deleted and opened again gets a new one, so clients
--   holding positions of the old one can tell: see resume in docs/protocol.md)
-- ARGV[8..] member ids; ARGV[8] must equal createdBy and becomes owner, the
--   others become members (duplicates ignored; direct: at most 2 distinct).
--   In a direct conversation both sides are equal: every member is "member",
--   the creator included (nobody has owner powers over the other).
-- New conv hash: id, kind, name, description "", public, createdBy,
--   createdAt, seq 0, lastTs = createdAt, epoch. Read pointers start at 0.
--   (Conversations created before epochs existed have no epoch field.)
-- Returns: {created, convJSON, addedIds}
--   created  1 = created now, 0 = a conversation with this id existed
--   convJSON {"id","kind","name","description","public":bool,"createdBy",
--            "createdAt","seq","lastTs","epoch"?,"lastMessage"?:{message},
--            "members":[{"id","role"}] (in join order)}
--   addedIds Redis array of the ids that became members by this call: all
--            of them when created; when an existing DIRECT conversation is
--            asked for again, the listed users who had left are re-added
--            (role member, read pointer = current seq); otherwise empty.
-- Errors: INVALID (bad ARGV / key count), CONFLICT (the id exists with
--   another kind).
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

local function convJSON()
  local h, c, members = redis.call("HGETALL", KEYS[1]), {}, {}
  for i = 1, #h, 2 do c[h[i]] = h[i + 1] end
  c.public = c.public == "1"
  c.createdAt, c.seq, c.lastTs = tonumber(c.createdAt), tonumber(c.seq), tonumber(c.lastTs)
  if c.lastMessage then c.lastMessage = cjson.decode(c.lastMessage) end
  local roles = {}
  local m = redis.call("HGETALL", KEYS[2])
  for i = 1, #m, 2 do roles[m[i]] = m[i + 1] end
  for _, id in ipairs(redis.call("ZRANGE", KEYS[3], 0, -1)) do
    if roles[id] then members[#members + 1] = {id = id, role = roles[id]}; roles[id] = nil end
  end
  for id, role in pairs(roles) do members[#members + 1] = {id = id, role = role} end -- not in zset
  c.members = members
  return cjson.encode(c)
end

if #KEYS ~= 5 then return err("INVALID", "create_conversation expects 5 keys") end
local convId, kind, name, public, createdBy = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local createdAt, epoch = uint(ARGV[6]), ARGV[7]
if (convId or "") == "" or (createdBy or "") == "" or name == nil then
  return err("INVALID", "convId, name and createdBy are required")
end
if kind ~= "direct" and kind ~= "group" and kind ~= "room" then return err("INVALID", "kind must be direct, group or room") end
if public ~= "0" and not (public == "1" and kind == "room") then return err("INVALID", "public must be 0, or 1 for a room") end
if not createdAt then return err("INVALID", "createdAt must be a non-negative integer") end
if type(epoch) ~= "string" or #epoch > 64 or not epoch:match("^[%w_%-]+$") then
  return err("INVALID", "epoch must be 1-64 characters of A-Z a-z 0-9 _ -")
end
if ARGV[8] ~= createdBy then return err("INVALID", "the first member must be the creator") end
local ids, seen = {}, {}
for i = 8, #ARGV do
  if ARGV[i] == "" then return err("INVALID", "empty member id") end
  if not seen[ARGV[i]] then seen[ARGV[i]] = true; ids[#ids + 1] = ARGV[i] end
end
if kind == "direct" and #ids > 2 then return err("INVALID", "a direct conversation has at most 2 members") end

if redis.call("EXISTS", KEYS[1]) == 1 then
  local existing = redis.call("HGET", KEYS[1], "kind")
  if existing ~= kind then return err("CONFLICT", "conversation exists with another kind") end
  local added = {}
  if kind == "direct" then
    local seq = redis.call("HGET", KEYS[1], "seq") or "0"
    for _, id in ipairs(ids) do
      if redis.call("HSETNX", KEYS[2], id, "member") == 1 then
        redis.call("ZADD", KEYS[3], createdAt, id)
        redis.call("HSET", KEYS[4], id, seq)
        redis.call("SADD", KEYS[5], id)
        added[#added + 1] = id
      end
    end
  end
  for _, id in ipairs(added) do emit("member.added", createdAt, {conv = convId, user = id, role = "member", by = createdBy}) end
  return {0, convJSON(), added}
end

redis.call("HSET", KEYS[1], "id", convId, "kind", kind, "name", name, "description", "",
  "public", public, "createdBy", createdBy, "createdAt", createdAt, "seq", 0, "lastTs", createdAt, "epoch", epoch)
for i, id in ipairs(ids) do
  redis.call("HSET", KEYS[2], id, (i == 1 and kind ~= "direct") and "owner" or "member")
  redis.call("ZADD", KEYS[3], createdAt, id)
  redis.call("HSET", KEYS[4], id, 0)
  if kind ~= "room" then redis.call("SADD", KEYS[5], id) end
end
local json = convJSON()
emit("conversation.created", createdAt, '{"conversation":' .. json .. ',"by":' .. cjson.encode(createdBy) .. '}')
return {1, json, ids}
