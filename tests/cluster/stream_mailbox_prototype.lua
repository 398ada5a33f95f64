#!lua
-- PROTOTYPE for issue 12 (docs/redis-design.md, "Resharding", option 1), not used by the
-- layer: a group send into stream mailboxes that checks every target before writing any.
-- KEYS[1] group zset (member instance -> membership deadline), KEYS[2] alive zset of the
-- same partition; member mailboxes are P:{tag}:mbox:<instance>, built from KEYS[1]'s tag,
-- so they share its slot. ARGV[1] the entry, ARGV[2] stale-after cutoff (ms, server clock).
-- Returns {'ok', delivered, stale} or {'retry', instance} having written nothing.
local prefix = string.match(KEYS[1], '^.-}')
local cutoff = tonumber(ARGV[2])
local boxes, stale = {}, 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local seen = redis.call('ZSCORE', KEYS[2], m)
  if (not seen) or tonumber(seen) < cutoff then
    stale = stale + 1
  else
    local key = prefix .. ':mbox:' .. m
    -- A live process keeps its mailbox stream (it re-creates it every heartbeat), so a
    -- missing one means the slot is half-migrated: on the source the read raises
    -- "non local key" (caught), on the target it reads 0. Either way: write nothing.
    local here = redis.pcall('EXISTS', key)
    if type(here) == 'table' or here == 0 then return {'retry', m} end
    table.insert(boxes, key)
  end
end
for _, key in ipairs(boxes) do redis.call('XADD', key, '*', 'e', ARGV[1]) end
return {'ok', #boxes, stale}
