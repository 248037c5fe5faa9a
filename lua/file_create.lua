#!lua
-- file_create.lua: record an upload's metadata once its bytes are stored.
-- KEYS[1] file hash        sb:file:{F}
-- ARGV[1] id   ARGV[2] name   ARGV[3] type   ARGV[4] size (bytes)
-- ARGV[5] owner (uploader's user id)   ARGV[6] createdAt (ms)
-- ARGV[7] ttl in seconds of an unattached upload (file_attach persists it)
-- Effects: HSET the hash, EXPIRE ttl.
-- Returns: 1.  Errors: INVALID, CONFLICT (the id exists already).
local function err(code, msg) return redis.error_reply(code .. " " .. msg) end
if #KEYS ~= 1 or #ARGV ~= 7 then return err("INVALID", "file_create expects 1 key and 7 arguments") end
local ttl = tonumber(ARGV[7])
if not ttl or ttl < 1 then return err("INVALID", "ttl must be a positive integer") end
if redis.call("EXISTS", KEYS[1]) == 1 then return err("CONFLICT", "file id exists") end
redis.call("HSET", KEYS[1], "id", ARGV[1], "name", ARGV[2], "type", ARGV[3], "size", ARGV[4], "owner", ARGV[5], "createdAt", ARGV[6])
redis.call("EXPIRE", KEYS[1], math.floor(ttl))
return 1
