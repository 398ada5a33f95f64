#!lua
-- Queue one message on a normal channel, honouring capacity; expired entries free room.
-- KEYS[1] channel list; ARGV: payload, expiry_ms, capacity, [position block: entry.py's
-- position field, for a group message with history ('00' or none: no position)].
-- Returns 1 if queued, 0 if full.
-- The entry is built as entry.LUA_BUILD says: deadline, position, 'q000', payload.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
local n = redis.call('LLEN', KEYS[1])
if n >= tonumber(ARGV[3]) then
  while n > 0 do
    local head = redis.call('LINDEX', KEYS[1], 0)
    if tonumber(string.sub(head, 1, 15)) > now then break end
    redis.call('LPOP', KEYS[1])
    n = n - 1
  end
  if n >= tonumber(ARGV[3]) then return 0 end
end
redis.call('RPUSH', KEYS[1], string.format('%015d', now + expiry) .. (ARGV[4] or '00') .. 'q000' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], expiry)
return 1
