#!lua
-- Add, refresh or remove a group member, record its meta (member count or capacity) and,
-- for presence, the member channels themselves.
-- KEYS[1] group zset, KEYS[2] group meta hash, KEYS[3] group members zset (presence),
-- all in the group's partition
-- ARGV: member, group_expiry_ms, meta, mode ('set' the meta, or 'keep' an existing one),
--       seq ('' for none), channel to remove from presence ('' for none),
--       then the channels to record in presence (none or more)
-- A process writes its own count with a seq that grows with every read of that count:
-- a write older than one already applied is skipped (two event loops of one process
-- racing must not leave a stale count behind), and a count of 0 removes the member.
-- Returns {now, 1 if the first listed channel was not a member before else 0}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
local fresh = true
if ARGV[5] ~= '' then
  local seen = redis.call('HGET', KEYS[2], ARGV[1] .. '#')
  if seen and tonumber(seen) >= tonumber(ARGV[5]) then
    fresh = false
  else
    redis.call('HSET', KEYS[2], ARGV[1] .. '#', ARGV[5])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)  -- group_send only skips expired ones
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)  -- presence.lua only skips them
if fresh then
  if ARGV[4] == 'set' and ARGV[3] == '0' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[1])
  else
    redis.call('ZADD', KEYS[1], now + expiry, ARGV[1])
    if ARGV[4] == 'set' then
      redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
    else
      redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
    end
    redis.call('PEXPIRE', KEYS[1], expiry)
  end
  redis.call('PEXPIRE', KEYS[2], expiry)
end
if ARGV[6] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[6])
end
local new = 0
for i = 7, #ARGV do
  if i == 7 then
    local before = redis.call('ZSCORE', KEYS[3], ARGV[i])
    if (not before) or tonumber(before) <= now then new = 1 end
  end
  redis.call('ZADD', KEYS[3], now + expiry, ARGV[i])
end
if #ARGV >= 7 then redis.call('PEXPIRE', KEYS[3], expiry) end
return {now, new}
