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
return role
