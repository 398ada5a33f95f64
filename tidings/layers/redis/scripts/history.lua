-- What a group's history holds after an offset, and what is needed to judge a resume.
-- KEYS[1] history zset (score offset, member: offset(15) expiry-ms(15) payload),
-- KEYS[2] offset counter, KEYS[3] epoch; ARGV: since offset (0 for everything)
-- Returns {epoch or nil, first kept offset, last offset, entries after since}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #head == 0 or tonumber(string.sub(head[1], 16, 30)) > now then break end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = last + 1
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #head > 0 then first = tonumber(head[2]) end
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
return {redis.call('GET', KEYS[3]), first, last, entries}
