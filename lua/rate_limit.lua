#!lua
-- rate_limit.lua: token bucket (burst = capacity, steady rate = refill/s).
-- KEYS[1] bucket hash   sb:ratelimit:{<bucket id>}   fields tokens, ts (ms)
-- ARGV[1] capacity: number > 0 (may be fractional)
-- ARGV[2] refill: tokens per second, number > 0 (may be fractional)
-- ARGV[3] now, ms integer (injected by the caller so time is controllable)
-- ARGV[4] cost: number >= 0, <= capacity; optional, default 1 (0 = peek)
-- A missing bucket is full. A "now" older than the stored ts (clock skew
-- between nodes) refills nothing and does not move ts back. A refused
-- request takes no tokens. The key gets PEXPIRE = time to refill fully
-- + 1 s, so an idle bucket disappears once it would be full anyway.
-- Returns: {allowed (1|0), retryAfterMs (0 when allowed; else ms until
--   enough tokens), remaining tokens after this call, floored}.
-- Errors: INVALID (bad ARGV / key count, cost > capacity).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
local function num(s) -- plain non-negative decimal (no exponent, inf, nan, hex)
  if type(s) == "string" and #s <= 20 and (s:match("^%d+%.?%d*$") or s:match("^%.%d+$")) then return tonumber(s) end
end

if #KEYS ~= 1 then return err("INVALID", "rate_limit expects 1 key") end
local capacity, refill, now = num(ARGV[1]), num(ARGV[2]), ARGV[3]
local cost = (ARGV[4] == nil or ARGV[4] == "") and 1 or num(ARGV[4])
if not capacity or capacity <= 0 then return err("INVALID", "capacity must be a number > 0") end
if not refill or refill <= 0 then return err("INVALID", "refill must be a number > 0") end
if type(now) ~= "string" or #now > 14 or not now:match("^%d+$") then return err("INVALID", "now must be ms as an integer") end
now = tonumber(now)
if not cost then return err("INVALID", "cost must be a number >= 0") end
if cost > capacity then return err("INVALID", "cost exceeds capacity") end

local h = redis.call("HMGET", KEYS[1], "tokens", "ts")
local tokens, last = tonumber(h[1]), tonumber(h[2])
if not tokens or not last then tokens, last = capacity, now end
if now > last then
  tokens = tokens + (now - last) * refill / 1000
  last = now
end
tokens = math.min(tokens, capacity) -- also when capacity was lowered

local allowed, retry = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.min(math.ceil((cost - tokens) * 1000 / refill), 1e12)
end
redis.call("HSET", KEYS[1], "tokens", tokens, "ts", last)
redis.call("PEXPIRE", KEYS[1], math.min(math.ceil(capacity * 1000 / refill) + 1000, 1e12))
return {allowed, retry, math.floor(tokens)}
