#!lua
-- Queue one entry in a process's mailbox (a stream), unless the mailbox is full (its
-- process is stalled or gone: a live process drains its mailbox continuously).
-- KEYS[1] mailbox stream; ARGV: header, payload, expiry_ms, mailbox capacity. Returns 1 or 0.
-- The entry is built as entry.LUA_BUILD says: deadline, no position, header, payload.
-- The mailbox lives while its process beats (heartbeat.lua) and at least as long as the
-- entries in it (a stalled process finds them when it wakes, as long as they are due).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('XADD', KEYS[1], '*', 'e',
  string.format('%015d', now + tonumber(ARGV[3])) .. '00' .. ARGV[1] .. ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
