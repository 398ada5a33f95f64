-- One group_send: one push per member *process* (plus one per normal-channel member).
-- KEYS[1] group zset, KEYS[2] group meta hash, KEYS[3] alive zset
-- and, for a group that keeps history: KEYS[4] history zset, KEYS[5] offset counter,
-- KEYS[6] epoch; the message then gets its position ("epoch:offset") atomically with
-- being stored, and every pushed entry carries it after a 'P' marker.
-- ARGV: inbox envelope, normal-channel payload, expiry_ms, inbox_capacity, key prefix,
--       stale_after_ms, default capacity (for a normal channel without meta),
--       the caller's own member (skipped: the caller fans out to it locally),
--       [history: size, ttl_ms, epoch candidate]
-- Returns {members, delivered, dropped_full, dropped_stale, processes, position or ''}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[3])
local deadline = string.format('%015d', now + expiry)
local inbox_cap = tonumber(ARGV[4])
local cutoff = now - tonumber(ARGV[6])
local position = ''
local mark = ''
if #KEYS > 3 then
  local ttl = tonumber(ARGV[10])
  redis.call('SET', KEYS[6], ARGV[11], 'NX')
  local offset = redis.call('INCR', KEYS[5])
  position = redis.call('GET', KEYS[6]) .. ':' .. offset
  mark = 'P' .. string.format('%-40s', position)
  redis.call('ZADD', KEYS[4], offset,
    string.format('%015d%015d', offset, now + ttl) .. ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[9]) + 1))
  redis.call('PEXPIRE', KEYS[4], ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
  redis.call('PEXPIRE', KEYS[6], ttl)
end
-- Only live members are read; expired ones are trimmed by group_add, not on every send.
local members = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local total, delivered, full, stale, processes = 0, 0, 0, 0, 0
for _, m in ipairs(members) do
  local raw = redis.call('HGET', KEYS[2], m)
  if m == ARGV[8] then
    -- the caller's own process: delivered locally, without a Redis hop
  elseif string.sub(m, -1) == '!' then
    local meta = tonumber(raw or '1')
    local instance = string.sub(m, 1, -2)
    total = total + meta
    local seen = redis.call('ZSCORE', KEYS[3], instance)
    if (not seen) or tonumber(seen) < cutoff then
      stale = stale + meta
    else
      local key = ARGV[5] .. 'inbox:' .. instance
      if redis.call('LLEN', key) < inbox_cap then
        redis.call('RPUSH', key, deadline .. mark .. ARGV[1])
        redis.call('PEXPIRE', key, expiry)
        delivered = delivered + meta
        processes = processes + 1
      else
        full = full + meta
      end
    end
  else
    local meta = tonumber(raw or ARGV[7])
    total = total + 1
    local key = ARGV[5] .. 'chan:' .. m
    local n = redis.call('LLEN', key)
    if n >= meta then
      while n > 0 do
        local head = redis.call('LINDEX', key, 0)
        if tonumber(string.sub(head, 1, 15)) > now then break end
        redis.call('LPOP', key)
        n = n - 1
      end
    end
    if n < meta then
      redis.call('RPUSH', key, deadline .. mark .. ARGV[2])
      redis.call('PEXPIRE', key, expiry)
      delivered = delivered + 1
    else
      full = full + 1
    end
  end
end
return {total, delivered, full, stale, processes, position}
