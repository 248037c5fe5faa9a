-- delete_conversation.lua: the owner deletes a conversation and all its keys.
-- KEYS[1] conv hash            sb:conv:{C}
-- KEYS[2] members hash         sb:conv:{C}:members
-- KEYS[3] joined zset          sb:conv:{C}:joined
-- KEYS[4] read pointers hash   sb:conv:{C}:read
-- KEYS[5] messages stream      sb:conv:{C}:msgs
-- KEYS[6] edits hash           sb:conv:{C}:edits
-- KEYS[7] offline set          sb:conv:{C}:offline
-- ARGV[1] convId   ARGV[2] actorId (must be the owner)
-- Nonce keys are not deleted; they expire within 10 minutes.
-- Returns: Redis array of the ids that were members (so the caller can update
--   each user's conversation index and notify them).
-- Errors: INVALID (bad ARGV / key count), NOT_FOUND, NOT_MEMBER,
--   FORBIDDEN (not the owner, or a direct conversation: those have no owner
--   and are only left by each side, see remove_member.lua).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end

if #KEYS ~= 7 then return err("INVALID", "delete_conversation expects 7 keys") end
local convId, actorId = ARGV[1], ARGV[2]
if (convId or "") == "" or (actorId or "") == "" then return err("INVALID", "convId and actorId are required") end
if redis.call("EXISTS", KEYS[1]) == 0 then return err("NOT_FOUND", "conversation not found") end
local role = redis.call("HGET", KEYS[2], actorId)
if not role then return err("NOT_MEMBER", "not a member of this conversation") end
if redis.call("HGET", KEYS[1], "kind") == "direct" then
  return err("FORBIDDEN", "a direct conversation is left by each side, not deleted")
end
if role ~= "owner" then return err("FORBIDDEN", "only the owner may delete the conversation") end
local members = redis.call("HKEYS", KEYS[2])
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return members
