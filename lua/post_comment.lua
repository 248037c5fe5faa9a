#!lua
-- post_comment.lua: add a comment to a post.
-- KEYS[1] post hash        sb:post:{P}
-- KEYS[2] comments stream  sb:post:{P}:comments
-- ARGV[1] userId   ARGV[2] text (non-empty)   ARGV[3] ts, ms integer
-- Effects: XADD from, text, ts (the entry id is the comment id);
--   HINCRBY comments 1.
-- Returns: {commentId, comments, author of the post}.
-- Errors: INVALID, NOT_FOUND (no such post).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 2 then return err("INVALID", "post_comment expects 2 keys") end
local user, text, ts = ARGV[1], ARGV[2], ARGV[3]
if (user or "") == "" or (text or "") == "" then return err("INVALID", "post_comment expects userId and text") end
if type(ts) ~= "string" or #ts > 14 or not ts:match("^%d+$") then return err("INVALID", "ts must be ms") end
local author = redis.call("HGET", KEYS[1], "author")
if not author then return err("NOT_FOUND", "post not found") end
local id = redis.call("XADD", KEYS[2], "*", "from", user, "text", text, "ts", ts)
local count = redis.call("HINCRBY", KEYS[1], "comments", 1)
return {id, count, author}
