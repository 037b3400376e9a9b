-- Acquire or renew a fenced lease (coordinator leadership). Acquiring increments the
-- lease's fencing counter and hands the new value to the holder; renewing keeps it. The
-- lease hash also says who leads since when, for `daa inspect leader`.
-- KEYS[1] lease hash (holder, fence, acquired_ms, renewed_ms; expires with the lease)
-- KEYS[2] fencing counter (never expires, only grows)
-- ARGV[1] holder id
-- ARGV[2] ttl_ms
-- ARGV[3] now_ms
-- Returns {1, fence} when ARGV[1] holds the lease after the call, {0, fence of the
-- current holder} otherwise.
local cur = redis.call('HGET', KEYS[1], 'holder')
if not cur then
  local fence = redis.call('INCR', KEYS[2])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'fence', fence,
    'acquired_ms', ARGV[3], 'renewed_ms', ARGV[3], 'ttl_ms', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, fence}
end
local fence = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'renewed_ms', ARGV[3], 'ttl_ms', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, fence}
end
return {0, fence}
