#!lua flags=no-writes
-- The live members of a group: not expired, and (for process-specific channels) in a
-- process that heartbeat within stale_after_ms. Normal channels are always listed.
-- Read-only (may run on a replica): expired entries are trimmed by group_add.lua.
-- KEYS[1] group members zset, KEYS[2] alive zset (both in the group's partition);
-- ARGV: stale_after_ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[1])
local alive = {}
local out = {}
for _, channel in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  local bang = string.find(channel, '!', 1, true)
  if not bang then
    table.insert(out, channel)
  else
    local instance = string.match(string.sub(channel, 1, bang - 1), '([^.]*)$')
    local ok = alive[instance]
    if ok == nil then
      local seen = redis.call('ZSCORE', KEYS[2], instance)
      ok = (seen ~= false) and (tonumber(seen) >= cutoff)
      alive[instance] = ok
    end
    if ok then table.insert(out, channel) end
  end
end
return out
