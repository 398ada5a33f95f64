-- Queue one envelope in a process inbox, unless the inbox is full (its process is stalled
-- or gone: a live process drains its inbox continuously).
-- KEYS[1] inbox list; ARGV: envelope, expiry_ms, inbox_capacity. Returns 1 or 0.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('RPUSH', KEYS[1], string.format('%015d', now + tonumber(ARGV[2])) .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
