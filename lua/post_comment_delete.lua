#!lua
-- post_comment_delete.lua: delete a comment; its author or the post's author.
-- KEYS[1] post hash        sb:post:{P}
-- KEYS[2] comments stream  sb:post:{P}:comments
-- ARGV[1] userId (who deletes)   ARGV[2] commentId (stream id "ms-n")
-- Effects: XDEL the entry; HINCRBY comments -1.
-- Returns: the number of comments left.
-- Errors: INVALID, NOT_FOUND (no such post or comment), FORBIDDEN.
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 2 then return err("INVALID", "post_comment_delete expects 2 keys") end
local user, id = ARGV[1], ARGV[2]
if (user or "") == "" then return err("INVALID", "post_comment_delete expects userId") end
if type(id) ~= "string" or not id:match("^%d+%-%d+$") then return err("NOT_FOUND", "comment not found") end
local author = redis.call("HGET", KEYS[1], "author")
if not author then return err("NOT_FOUND", "post not found") end
local entry = redis.call("XRANGE", KEYS[2], id, id)
if #entry == 0 then return err("NOT_FOUND", "comment not found") end
local fields, from = entry[1][2], nil
for i = 1, #fields, 2 do if fields[i] == "from" then from = fields[i + 1] end end
if from ~= user and author ~= user then return err("FORBIDDEN", "only the comment's or the post's author may delete it") end
redis.call("XDEL", KEYS[2], id)
return redis.call("HINCRBY", KEYS[1], "comments", -1)
