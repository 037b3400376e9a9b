-- Extend a held lock by compare-and-pexpire (the watchdog calls this every ttl/3).
-- KEYS[1] lock key
-- KEYS[2] holder hash
-- ARGV[1] token
-- ARGV[2] ttl_ms
-- Returns 1 when the token still holds the lock (TTL reset), 0 when it lost it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
