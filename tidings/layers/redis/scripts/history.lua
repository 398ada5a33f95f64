#!lua flags=no-writes
-- What a group's history holds after an offset, and what is needed to judge a resume.
-- KEYS[1] history zset (score offset, member: offset(15) expiry-ms(15) payload),
-- KEYS[2] offset counter, KEYS[3] epoch; ARGV: since offset (0 for everything)
-- Read-only (may run on a replica): expired entries are skipped here and removed by the
-- next group_send.lua.
-- Returns {epoch or nil, first kept offset, last offset, entries after since}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = last + 1
local live = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if tonumber(string.sub(member, 16, 30)) > now then
    if #live == 0 then first = tonumber(string.sub(member, 1, 15)) end
    table.insert(live, member)
  end
end
local entries = {}
local since = tonumber(ARGV[1])
for _, member in ipairs(live) do
  if tonumber(string.sub(member, 1, 15)) > since then table.insert(entries, member) end
end
return {redis.call('GET', KEYS[3]), first, last, entries}
