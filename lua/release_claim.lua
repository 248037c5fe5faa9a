#!lua
-- release_claim.lua: delete a key only if it still holds the expected value
-- (gives back a username claimed with SET NX when creating the user failed).
-- KEYS[1] the claimed key       sb:username:<lowercase name>
-- ARGV[1] the value it must hold (the user id that claimed it)
-- Returns: 1 when deleted, 0 when the key holds something else or is gone.
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
