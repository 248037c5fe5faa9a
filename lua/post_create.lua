#!lua
-- post_create.lua: store a new post (one slot: {P}). The node then indexes it
-- under its author (ZADD sb:user:{U}:posts, another slot; see redis-layout.md).
-- KEYS[1] post hash            sb:post:{P}
-- ARGV[1] postId   ARGV[2] authorId   ARGV[3] text (non-empty)
-- ARGV[4] attachments JSON array ("[]")   ARGV[5] createdAt, ms integer
-- Effects: HSET id, author, text, attachments, createdAt, likes=0,
--   comments=0, shares=0.
-- Returns: 1.
-- Errors: INVALID (bad ARGV / key count), CONFLICT (the id exists).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 1 then return err("INVALID", "post_create expects 1 key") end
local id, author, text, attachments = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ts = ARGV[5]
if (id or "") == "" or (author or "") == "" then return err("INVALID", "post_create expects postId and authorId") end
if (text or "") == "" then return err("INVALID", "text must not be empty") end
if type(ts) ~= "string" or #ts > 14 or not ts:match("^%d+$") then return err("INVALID", "createdAt must be ms") end
if redis.call("EXISTS", KEYS[1]) == 1 then return err("CONFLICT", "post id exists") end
redis.call("HSET", KEYS[1], "id", id, "author", author, "text", text, "attachments", attachments or "[]",
  "createdAt", ts, "likes", 0, "comments", 0, "shares", 0)
return 1
