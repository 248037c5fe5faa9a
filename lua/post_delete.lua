#!lua
-- post_delete.lua: delete a post with its likes and comments; author only
-- (one slot: {P}). The node then removes it from its author's posts
-- (ZREM sb:user:{U}:posts, another slot; see redis-layout.md).
-- KEYS[1] post hash            sb:post:{P}
-- KEYS[2] likes set            sb:post:{P}:likes
-- KEYS[3] comments stream      sb:post:{P}:comments
-- ARGV[1] userId (who deletes)   ARGV[2] postId
-- Effects: DEL KEYS[1..3]. Feed entries are
--   removed afterwards by post_fanout (mode "remove"); readers skip ids
--   whose hash is gone, so a deleted post never shows meanwhile.
-- Returns: the post's createdAt (ms).
-- Errors: INVALID, NOT_FOUND, FORBIDDEN (not the author).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 3 then return err("INVALID", "post_delete expects 3 keys") end
local user, id = ARGV[1], ARGV[2]
if (user or "") == "" or (id or "") == "" then return err("INVALID", "post_delete expects userId and postId") end
local h = redis.call("HMGET", KEYS[1], "author", "createdAt")
if not h[1] then return err("NOT_FOUND", "post not found") end
if h[1] ~= user then return err("FORBIDDEN", "only the author may delete a post") end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3])
return tonumber(h[2]) or 0
