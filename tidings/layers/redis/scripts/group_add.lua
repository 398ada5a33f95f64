-- Add (or refresh) a group member, record its meta (member count or capacity) and, for
-- presence, the member channel itself.
-- KEYS[1] group zset, KEYS[2] group meta hash, KEYS[3] group members zset (presence)
-- ARGV: member, group_expiry_ms, meta, mode ('set' the meta, or 'keep' an existing one),
--       channel to record in the members zset ('' for none)
-- Returns {now, 1 if the channel was not a member before else 0}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)  -- group_send only skips expired ones
redis.call('ZADD', KEYS[1], now + expiry, ARGV[1])
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
else
  redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], expiry)
redis.call('PEXPIRE', KEYS[2], expiry)
local new = 0
if ARGV[5] ~= '' then
  local before = redis.call('ZSCORE', KEYS[3], ARGV[5])
  if (not before) or tonumber(before) <= now then new = 1 end
  redis.call('ZADD', KEYS[3], now + expiry, ARGV[5])
  redis.call('PEXPIRE', KEYS[3], expiry)
end
return {now, new}
