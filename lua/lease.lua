#!lua
-- lease.lua: take or renew a lease held by one owner at a time (the node
-- that delivers webhooks). Released with release_claim.lua.
-- KEYS[1] lease string          sb:events:webhook-lease
-- ARGV[1] owner (node id)   ARGV[2] lease time, ms
-- Returns: 1 when the caller holds the lease now (taken or renewed), 0 when
--   another owner holds it.
-- Errors: INVALID (bad ARGV / key count).
local owner, ttl = ARGV[1], tonumber(ARGV[2] or "")
if #KEYS ~= 1 or (owner or "") == "" or not ttl or ttl <= 0 then
  return redis.error_reply("INVALID lease expects 1 key and owner, ttl ms")
end
local holder = redis.call("GET", KEYS[1])
if holder and holder ~= owner then return 0 end
redis.call("SET", KEYS[1], owner, "PX", math.floor(ttl))
return 1
