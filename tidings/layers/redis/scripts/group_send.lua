#!lua
-- One group_send: one entry per member *process*, into that process's mailbox in this
-- group's partition. Keys (all in the group's partition, hence one hash slot):
-- KEYS[1] group zset, KEYS[2] group meta hash, KEYS[3] alive zset, KEYS[4] data epoch
-- and, for a group that keeps history: KEYS[5] history zset, KEYS[6] offset counter,
-- KEYS[7] history epoch; the message then gets its position ("epoch:offset") atomically with
-- being stored, and every entry carries it (entry.py's position field).
-- The member mailboxes cannot be declared (the member list never leaves Redis): each is
-- built from KEYS[1]'s partition prefix 'P:{T}' .. ':mbox:' .. instance, so it is in
-- KEYS[1]'s slot by construction (tests/redis/test_script_keys.py checks every script).
-- ARGV: entry header ('g' + group), payload (sent once: every entry is built here, as
--       entry.LUA_BUILD says, and history keeps the bare payload), expiry_ms,
--       mailbox capacity, stale_after_ms,
--       the caller's own member (skipped: the caller fans out to it locally),
--       [history: size, ttl_ms, epoch candidate]
-- A member process that has not beaten for stale_after_ms is *gone* (crashed, killed or
-- stalled): counted, not pushed to. After 10 times that it is known dead and removed
-- from the group (it announces itself again if it ever comes back).
-- Normal channels that are members live in their own partitions: they are returned, for
-- the caller to send to (send_channel.lua), with their capacity ('' for the default).
-- Returns {'retry', instance} having written nothing (a member's mailbox is missing: see
-- below), or {members, delivered, dropped_full, gone, processes, position or '',
--          data epoch or false (Redis lost its data and nobody has beaten since),
--          {channel, capacity, channel, capacity...}}
local partition = string.match(KEYS[1], '^.-}')
if not partition then return redis.error_reply('group_send: KEYS[1] has no {tag}') end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[3])
local deadline = string.format('%015d', now + expiry)
local mailbox_cap = tonumber(ARGV[4])
local cutoff = now - tonumber(ARGV[5])
local dead = now - tonumber(ARGV[5]) * 10  -- RedisChannelLayer.dead_after_ms
-- First every target is read, then (if all are here) written: nothing or everything.
-- Only live members are read; expired ones are trimmed by group_add, not on every send.
local members = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local total, delivered, full, stale, processes = 0, 0, 0, 0, 0
local boxes, channels = {}, {}
for _, m in ipairs(members) do
  local raw = redis.call('HGET', KEYS[2], m)
  if m == ARGV[6] then
    -- the caller's own process: delivered locally, without a Redis hop
  elseif string.sub(m, -1) == '!' then
    local meta = tonumber(raw or '1')
    local instance = string.sub(m, 1, -2)
    local seen = redis.call('ZSCORE', KEYS[3], instance)
    if (not seen) or tonumber(seen) < dead then
      redis.call('ZREM', KEYS[1], m)  -- idempotent: harmless if the send is retried
      redis.call('HDEL', KEYS[2], m)
    elseif tonumber(seen) < cutoff then
      total = total + meta
      stale = stale + meta
    else
      total = total + meta
      local key = partition .. ':mbox:' .. instance
      -- A live process keeps its mailbox (heartbeat.lua), so a missing one means this
      -- slot is half-way through moving to another master: on the source the read raises
      -- "non local key" (pcall catches it), on the target it reads 0. Write nothing then:
      -- the caller retries once the slot has moved (a partial send could not be retried).
      local n = redis.pcall('XLEN', key)
      if type(n) == 'table' or (n == 0 and redis.call('EXISTS', key) == 0) then
        return {'retry', instance}
      end
      if n < mailbox_cap then
        table.insert(boxes, key)
        delivered = delivered + meta
        processes = processes + 1
      else
        full = full + meta
      end
    end
  else
    table.insert(channels, m)
    table.insert(channels, raw or '')
  end
end
local position = ''
local mark = '00'  -- entry.py's position field: length (2 digits) then the position
if #KEYS > 4 then
  local ttl = tonumber(ARGV[8])
  redis.call('SET', KEYS[7], ARGV[9], 'NX')
  local offset = redis.call('INCR', KEYS[6])
  position = redis.call('GET', KEYS[7]) .. ':' .. offset
  mark = string.format('%02d', #position) .. position
  redis.call('ZADD', KEYS[5], offset,
    string.format('%015d%015d', offset, now + ttl) .. ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -(tonumber(ARGV[7]) + 1))
  while true do  -- expired entries go here (history.lua only reads)
    local head = redis.call('ZRANGE', KEYS[5], 0, 0)
    if #head == 0 or tonumber(string.sub(head[1], 16, 30)) > now then break end
    redis.call('ZREMRANGEBYRANK', KEYS[5], 0, 0)
  end
  redis.call('PEXPIRE', KEYS[5], ttl)
  redis.call('PEXPIRE', KEYS[6], ttl)
  redis.call('PEXPIRE', KEYS[7], ttl)
end
local item = deadline .. mark .. ARGV[1] .. ARGV[2]
for _, key in ipairs(boxes) do
  redis.call('XADD', key, '*', 'e', item)
  -- a mailbox outlives its entries (a stalled process finds them when it wakes)
  if redis.call('PTTL', key) < expiry then redis.call('PEXPIRE', key, expiry) end
end
return {total, delivered, full, stale, processes, position, redis.call('GET', KEYS[4]), channels}
