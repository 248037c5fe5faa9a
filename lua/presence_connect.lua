#!lua
-- presence_connect.lua: a connection of a user opens.
-- KEYS[1] sockets zset     sb:sockets:{U}      member "node/connection" -> expiry ms
-- KEYS[2] presence hash    sb:presence:{U}     status, since
-- KEYS[3] user hash        sb:user:{U}         (reads lastSeen)
-- ARGV[1] member "node/connection"   ARGV[2] now, ms   ARGV[3] expiry of the entry, ms
-- ARGV[4] TTL of both keys, seconds   ARGV[5] presence channel (sb:live:presence:{U})
-- ARGV[6] user id
-- Effects: drops expired socket entries, adds this one, (re)sets both TTLs;
--   status is kept if the user was already online, else "online".
--   When the user was offline: PUBLISH {"ev":"presence","user","status","lastSeen"}.
-- Returns: the user's status.
-- Errors: INVALID (bad ARGV).
-- Event stream (optional): KEYS[4] = sb:events, and then the last ARGV is
-- its MAXLEN ~ (0 = untrimmed). Both are taken off here: the rest of the
-- script reads KEYS and ARGV as without them. No key = no event, no cost.
local PUBLISH = "PUBLISH" -- "SPUBLISH" on Redis Cluster: the node loads a copy with this line changed
local EVENTS, EVENTS_MAXLEN = nil, 0
if #KEYS == 4 then EVENTS, EVENTS_MAXLEN = table.remove(KEYS), tonumber(table.remove(ARGV)) or 0 end
local function emit(etype, ts, data) -- data: a table, or JSON text of an object
  if not EVENTS then return end
  if not ts then local t = redis.call("TIME"); ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  local entry = type(data) == "string" and ('{"type":"' .. etype .. '","ts":' .. ts .. ',"data":' .. data .. '}')
    or cjson.encode({type = etype, ts = ts, data = data})
  if EVENTS_MAXLEN > 0 then redis.call("XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*", "event", entry)
  else redis.call("XADD", EVENTS, "*", "event", entry) end
end
local now, expiry, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if #KEYS ~= 3 or (ARGV[1] or "") == "" or not now or not expiry or not ttl or ttl <= 0 or (ARGV[6] or "") == "" then
  return redis.error_reply("INVALID presence_connect expects 3 keys and member, now, expiry, ttl, channel, user")
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local wasOnline = redis.call("EXISTS", KEYS[2]) == 1 and redis.call("ZCARD", KEYS[1]) > 0
redis.call("ZADD", KEYS[1], expiry, ARGV[1])
redis.call("EXPIRE", KEYS[1], ttl)
local status = wasOnline and redis.call("HGET", KEYS[2], "status") or "online"
if not wasOnline then redis.call("HSET", KEYS[2], "status", status, "since", now) end
redis.call("EXPIRE", KEYS[2], ttl)
if not wasOnline and ARGV[5] ~= "" then
  local lastSeen = tonumber(redis.call("HGET", KEYS[3], "lastSeen") or "")
  redis.call(PUBLISH, ARGV[5], cjson.encode({ev = "presence", user = ARGV[6], status = status,
    lastSeen = lastSeen or cjson.null}))
end
if not wasOnline then emit("presence.online", now, {user = ARGV[6], status = status}) end
return status
