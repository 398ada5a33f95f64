#!lua
-- Mark an instance alive, keep its mailbox, publish its statistics, and return the server
-- clock (ms) and the data epoch. The epoch is a random token set once per data set: if it
-- changes, Redis lost its data (restart without persistence, FLUSHALL) and every process
-- announces its memberships again. Also returns how long ago this instance last beat
-- (-1: unknown).
-- KEYS[1] alive zset, KEYS[2] epoch, KEYS[3] this instance's stats hash,
-- KEYS[4] this instance's mailbox stream
-- ARGV: instance, forget_after_ms, epoch candidate, mailbox_keep_ms,
--       then field, value, field, value... (none: statistics are published elsewhere)
-- The mailbox exists for as long as its process beats (and mailbox_keep_ms after): a
-- sender that finds it missing knows the process is gone, or that the mailbox's hash slot
-- is half-way through moving to another master (group_send.lua retries then).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('SET', KEYS[2], ARGV[3], 'NX')
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('XADD', KEYS[4], 'MAXLEN', '0', '*', 'e', '')  -- an empty stream
end
if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[4]) then  -- never shorter than its entries
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
end
if #ARGV > 4 then
  redis.call('HSET', KEYS[3], 'beat', now, unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
-- the previous beat (ms ago, or -1 if this instance was unknown): a late one means
-- other processes took this one for gone and may have stopped counting its members
local since = -1
if before then since = now - tonumber(before) end
return {now, redis.call('GET', KEYS[2]), since}
