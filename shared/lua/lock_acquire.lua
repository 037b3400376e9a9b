-- Acquire a lock: SET NX PX with the caller's random token, and on success increment the
-- resource's fencing counter (the fencing token the holder passes to its fenced writes).
-- Re-entrant: a caller that already holds the lock gets its fence back and a fresh TTL.
-- A caller that does not get it may register as a waiter (for `daa inspect locks`).
-- KEYS[1] lock key (string: token)
-- KEYS[2] fence counter
-- KEYS[3] holder hash (token, holder, fence, acquired_ms)
-- KEYS[4] waiters sorted set (token scored by when it started waiting)
-- KEYS[5] waiters-seen sorted set (token scored by its last attempt)
-- KEYS[6] waiter labels hash (token -> holder label)
-- ARGV[1] token
-- ARGV[2] ttl_ms
-- ARGV[3] now_ms
-- ARGV[4] holder label (host-pid, job id...)
-- ARGV[5] '1' to register as a waiter when the lock is taken, '0' not to
-- ARGV[6] stale_ms: waiters not seen for this long are dropped; waiter keys live this long
-- ARGV[7] fence_retention_ms: TTL of the fence counter, refreshed on every acquisition
-- Returns {1, fence} when the caller holds the lock, {0, pttl_ms of the holder} otherwise.
local now = tonumber(ARGV[3])
local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[6]))
for _, t in ipairs(stale) do
  redis.call('ZREM', KEYS[4], t)
  redis.call('ZREM', KEYS[5], t)
  redis.call('HDEL', KEYS[6], t)
end
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  local fence = redis.call('HGET', KEYS[3], 'fence') or redis.call('GET', KEYS[2]) or '0'
  return {1, tonumber(fence)}
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local fence = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
  redis.call('HSET', KEYS[3], 'token', ARGV[1], 'holder', ARGV[4], 'fence', fence,
    'acquired_ms', ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('HDEL', KEYS[6], ARGV[1])
  return {1, fence}
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
  redis.call('HSET', KEYS[6], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[4], ARGV[6])
  redis.call('PEXPIRE', KEYS[5], ARGV[6])
  redis.call('PEXPIRE', KEYS[6], ARGV[6])
end
return {0, redis.call('PTTL', KEYS[1])}
