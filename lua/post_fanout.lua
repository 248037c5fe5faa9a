#!lua
-- post_fanout.lua: one batch of followers of a post's author.
-- KEYS     pairs: feed zset sb:feed:{F}, sockets zset sb:sockets:{F}, per follower F
-- ARGV[1]  mode: "add" (into feeds, and live), "live" (live only, for authors
--          merged at read time) or "remove" (out of feeds)
-- ARGV[2]  postId   ARGV[3] score (createdAt, ms)   ARGV[4] keep (1000): feed cap
-- ARGV[5]  now, ms   ARGV[6] payload to PUBLISH ({"ev":"post","post":…}; "" = none)
-- ARGV[7…] the user channel of each follower (sb:live:user:{F}), in KEYS order
-- Effects: "add": ZADD feed score postId, then ZREMRANGEBYRANK to the newest
--   `keep`; "remove": ZREM feed postId; "add"/"live": PUBLISH the payload on
--   the channel of each follower with a live socket (score > now).
-- Returns: {feeds written, events published}.
-- Errors: INVALID (bad ARGV / key count).
-- Touches one slot per follower: on Redis Cluster the node passes one follower
-- per call (all of them pipelined; see redis-layout.md).
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local mode, id, score, keep, now, payload = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local n = #KEYS / 2
if #KEYS % 2 ~= 0 or #ARGV ~= 6 + n then return err("INVALID", "post_fanout expects key pairs and one channel per pair") end
if mode ~= "add" and mode ~= "live" and mode ~= "remove" then return err("INVALID", "mode must be add, live or remove") end
if (id or "") == "" or not score or not keep or keep < 1 or not now then return err("INVALID", "bad postId, score, keep or now") end
local written, published = 0, 0
for i = 1, n do
  local feed, sockets, channel = KEYS[2 * i - 1], KEYS[2 * i], ARGV[6 + i]
  if mode == "remove" then
    written = written + redis.call("ZREM", feed, id)
  else
    if mode == "add" then
      redis.call("ZADD", feed, score, id)
      redis.call("ZREMRANGEBYRANK", feed, 0, -(keep + 1))
      written = written + 1
    end
    if (payload or "") ~= "" and redis.call("ZCOUNT", sockets, "(" .. now, "+inf") > 0 then
      redis.call(PUBLISH, channel, payload)
      published = published + 1
    end
  end
end
return {written, published}
