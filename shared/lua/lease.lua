-- Acquire or renew a named lease.
-- KEYS[1] lease key
-- ARGV[1] holder id
-- ARGV[2] ttl_ms
-- Returns 1 when ARGV[1] holds the lease after the call, 0 otherwise.
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
