-- Add (or refresh) a group member and record its meta (member count or capacity).
-- KEYS[1] group zset, KEYS[2] group meta hash
-- ARGV: member, group_expiry_ms, meta, mode ('set' the meta, or 'keep' an existing one)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + expiry, ARGV[1])
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
else
  redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], expiry)
redis.call('PEXPIRE', KEYS[2], expiry)
return now
