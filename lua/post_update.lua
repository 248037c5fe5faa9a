#!lua
-- post_update.lua: replace a post's text; author only.
-- KEYS[1] post hash   sb:post:{P}
-- ARGV[1] userId (editor)   ARGV[2] new text (non-empty)   ARGV[3] editedAt, ms integer
-- Effects: HSET text, editedAt.
-- Returns: the post hash as a flat field/value array.
-- Errors: INVALID, NOT_FOUND (no such post), FORBIDDEN (not the author).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 1 then return err("INVALID", "post_update expects 1 key") end
local user, text, ts = ARGV[1], ARGV[2], ARGV[3]
if (user or "") == "" or (text or "") == "" then return err("INVALID", "post_update expects userId and text") end
if type(ts) ~= "string" or #ts > 14 or not ts:match("^%d+$") then return err("INVALID", "editedAt must be ms") end
local author = redis.call("HGET", KEYS[1], "author")
if not author then return err("NOT_FOUND", "post not found") end
if author ~= user then return err("FORBIDDEN", "only the author may edit a post") end
redis.call("HSET", KEYS[1], "text", text, "editedAt", ts)
return redis.call("HGETALL", KEYS[1])
