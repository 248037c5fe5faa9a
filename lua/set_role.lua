#!lua
-- set_role.lua: the owner changes a member's role, or hands ownership over.
-- KEYS[1] conv hash      sb:conv:{C}
-- KEYS[2] members hash   sb:conv:{C}:members
-- ARGV[1] convId   ARGV[2] actorId (must be the owner)   ARGV[3] targetId
-- ARGV[4] role: admin|member|owner; "owner" transfers ownership and the old
--         owner becomes admin. Setting the role a member already has is a
--         no-op (the owner asking "owner" for themself included).
-- Returns: the target's new role (string).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND (no conversation, or the
--   target is not a member), NOT_MEMBER (actor), FORBIDDEN (actor is not the
--   owner, or a direct conversation: no roles there), CONFLICT (the owner tries to demote themself: transfer instead).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
-- Event stream (optional): KEYS[3] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 3 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end

if #KEYS ~= 2 then return err("INVALID", "set_role expects 2 keys") end
local convId, actorId, targetId, role = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if (convId or "") == "" or (actorId or "") == "" or (targetId or "") == "" then
  return err("INVALID", "convId, actorId and targetId are required")
end
if role ~= "admin" and role ~= "member" and role ~= "owner" then return err("INVALID", "role must be admin, member or owner") end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local actorRole = redis.call("HGET", KEYS[2], actorId)
if not actorRole then return err("NOT_MEMBER", "not a member of this conversation") end
if redis.call("HGET", KEYS[1], "kind") == "direct" then return err("FORBIDDEN", "a direct conversation has no roles") end
if actorRole ~= "owner" then return err("FORBIDDEN", "only the owner may change roles") end
local targetRole = redis.call("HGET", KEYS[2], targetId)
if not targetRole then return err("NOT_FOUND", "user is not a member of this conversation") end
if targetRole == role then return role end
if targetId == actorId then return err("CONFLICT", "the owner cannot demote themself; transfer ownership instead") end
if role == "owner" then redis.call("HSET", KEYS[2], actorId, "admin") end
redis.call("HSET", KEYS[2], targetId, role)
emit("member.role_changed", nil, {conv = convId, user = targetId, role = role, previous = targetRole, by = actorId})
if role == "owner" then
  emit("member.role_changed", nil, {conv = convId, user = actorId, role = "admin", previous = "owner", by = actorId})
end
return role
