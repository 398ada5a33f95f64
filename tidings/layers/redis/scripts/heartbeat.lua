-- Mark an instance alive, publish its statistics, and return the server clock (ms) and
-- the data epoch. The epoch is a random token set once per data set: if it changes, Redis
-- lost its data (restart without persistence, FLUSHALL) and every process announces its
-- memberships again. Also returns how long ago this instance last beat (-1: unknown).
-- KEYS[1] alive zset, KEYS[2] epoch, KEYS[3] this instance's stats hash
-- ARGV: instance, forget_after_ms, epoch candidate, then field, value, field, value...
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('SET', KEYS[2], ARGV[3], 'NX')
if #ARGV > 3 then
  redis.call('HSET', KEYS[3], 'beat', now, unpack(ARGV, 4))
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
-- the previous beat (ms ago, or -1 if this instance was unknown): a late one means
-- other processes took this one for gone and may have stopped counting its members
local since = -1
if before then since = now - tonumber(before) end
return {now, redis.call('GET', KEYS[2]), since}
