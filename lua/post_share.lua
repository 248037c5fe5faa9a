#!lua
-- post_share.lua: count one share of a post into a chat (the follow-up of a
-- `send` with `post`; the message itself is stored by send.lua).
-- KEYS[1] post hash   sb:post:{P}
-- ARGV[1] delta: "1" (shared) or "-1" (undo, when the send failed)
-- Effects: HINCRBY shares delta (never below 0), only on an existing post.
-- Returns: {shares, author}.
-- Errors: INVALID, NOT_FOUND (no such post: deleted meanwhile).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 1 then return err("INVALID", "post_share expects 1 key") end
local delta = ARGV[1]
if delta ~= "1" and delta ~= "-1" then return err("INVALID", "delta must be 1 or -1") end
local h = redis.call("HMGET", KEYS[1], "author", "shares")
if not h[1] then return err("NOT_FOUND", "post not found") end
local shares = tonumber(h[2]) or 0
if delta == "1" or shares > 0 then shares = redis.call("HINCRBY", KEYS[1], "shares", tonumber(delta)) end
return {shares, h[1]}
