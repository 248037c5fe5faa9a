#!lua
-- file_attach.lua: claim an upload for a message, before the message is
-- sent (so a member who receives it can already fetch the file).
-- KEYS[1] file hash        sb:file:{F}
-- KEYS[2] file's convs set sb:file:{F}:convs
-- ARGV[1] userId (the sender: must be the uploader)   ARGV[2] convId
-- Effects: PERSIST both keys (an attached upload no longer expires);
--   SADD convs convId (members of that conversation may fetch the file).
-- Returns: {id, name, type, size} of the file.
-- Errors: INVALID (bad key count / ARGV), NOT_FOUND (no such upload, or it
--   expired), FORBIDDEN (someone else's upload).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 2 then return err("INVALID", "file_attach expects 2 keys") end
local userId, convId = ARGV[1], ARGV[2]
if (userId or "") == "" or (convId or "") == "" then return err("INVALID", "userId and convId are required") end
local f = redis.call("HMGET", KEYS[1], "id", "name", "type", "size", "owner")
if not f[1] then return err("NOT_FOUND", "attachment not found") end
if f[5] ~= userId then return err("FORBIDDEN", "only your own uploads can be attached") end
redis.call("PERSIST", KEYS[1])
redis.call("SADD", KEYS[2], convId)
redis.call("PERSIST", KEYS[2])
return {f[1], f[2], f[3], f[4]}
