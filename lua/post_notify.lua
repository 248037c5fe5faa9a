#!lua
-- post_notify.lua: a coalesced notification for a post's author
-- ("3 people liked your post": one entry per post and type).
-- KEYS[1] notifications zset   sb:notifs:{U}   (members "<seq, 20 digits>|<json>",
--         score = time; post entries use seq 0 and score = now)
-- KEYS[2] sockets zset         sb:sockets:{U}
-- KEYS[3] user hash            sb:user:{U}
-- ARGV[1] type (post.liked, post.commented, post.shared)   ARGV[2] postId
-- ARGV[3] actor userId   ARGV[4] now, ms   ARGV[5] keep (100)   ARGV[6] TTL, s
-- ARGV[7] channel to PUBLISH on when the user is connected (sb:live:user:{U})
-- ARGV[8] count to show ("" = one more per new actor; likes pass the post's
--   like count, kept when higher than the entry's)
-- Effects: removes the entry of the same type and post (if any), ZADDs
--   {"id":"<post>/<type>/<now>","type","post","count","actors" (newest 5),
--   "text","ts"} at score now, drops all but the newest ARGV[5], EXPIRE. When the user has a live socket the entry is
--   also published as {"ev":"notification",…} and marked pushed
--   (`pushedNotification` in the user hash), so the next connect skips it.
-- Returns: the count.
-- Errors: INVALID.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 3 then return err("INVALID", "post_notify expects 3 keys") end
local kind, post, actor, now, keep, ttl, channel = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local given = tonumber(ARGV[8] or "")
if (kind or "") == "" or (post or "") == "" or (actor or "") == "" or not now or not keep or not ttl or channel == nil then
  return err("INVALID", "post_notify expects type, postId, actor, now, keep, ttl, channel")
end
local count, actors = 0, {}
for _, member in ipairs(redis.call("ZRANGE", KEYS[1], 0, -1)) do
  local ok, item = pcall(cjson.decode, string.sub(member, 22))
  if ok and type(item) == "table" and item.type == kind and item.post == post then
    count = tonumber(item.count) or 0
    if type(item.actors) == "table" then actors = item.actors end
    redis.call("ZREM", KEYS[1], member)
    break
  end
end
local known = false
for _, a in ipairs(actors) do if a == actor then known = true end end
if not known then
  if not given then count = count + 1 end
  table.insert(actors, 1, actor)
  while #actors > 5 do table.remove(actors) end
end
-- A given count (the post's likes) only grows the entry: concurrent likes
-- may notify out of order.
if given and given > count then count = given end
if count < 1 then count = 1 end
local verbs = { ["post.liked"] = "liked", ["post.commented"] = "commented on", ["post.shared"] = "shared" }
local who = count == 1 and "1 person " or (count .. " people ")
local entry = cjson.encode({ id = post .. "/" .. kind .. "/" .. now, type = kind, post = post, count = count,
  actors = actors, text = who .. (verbs[kind] or kind) .. " your post", ts = now })
redis.call("ZADD", KEYS[1], now, string.rep("0", 20) .. "|" .. entry)
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -(keep + 1))
redis.call("EXPIRE", KEYS[1], ttl)
if channel ~= "" and redis.call("ZCOUNT", KEYS[2], "(" .. now, "+inf") > 0 then
  redis.call(PUBLISH, channel, '{"ev":"notification","notification":' .. entry .. '}')
  redis.call("HSET", KEYS[3], "pushedNotification", post .. "/" .. kind .. "/" .. now)
end
return count
