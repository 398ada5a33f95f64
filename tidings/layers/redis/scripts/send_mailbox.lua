-- Queue one entry in a process's mailbox, unless the mailbox is full (its process is
-- stalled or gone: a live process drains its mailbox continuously).
-- KEYS[1] mailbox list; ARGV: header, payload, expiry_ms, mailbox capacity. Returns 1 or 0.
-- The entry is built as entry.LUA_BUILD says: deadline, no position, header, payload.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('RPUSH', KEYS[1], string.format('%015d', now + tonumber(ARGV[3])) .. '00' .. ARGV[1] .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
