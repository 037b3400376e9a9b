-- Store one coordination memory entry and index it in its namespace.
-- KEYS[1] entry key (string: JSON value)
-- KEYS[2] namespace index (sorted set: entry path scored by expiry, +inf = none)
-- ARGV[1] entry path (<agent>/<task>/<timestamp>)
-- ARGV[2] JSON value
-- ARGV[3] ttl_ms (0 = no TTL)
-- ARGV[4] now_ms
-- ARGV[5] expires_at_ms ('+inf' when no TTL)
-- Returns 1.
local ttl = tonumber(ARGV[3])
-- Expired entries leave the index here (and on search): no sweeper needed.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
local before = redis.call('PTTL', KEYS[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  -- The index lives as long as its longest-lived entry.
  if before == -2 or (before >= 0 and before < ttl) then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
  end
else
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[2], '+inf', ARGV[1])
  redis.call('PERSIST', KEYS[2])
end
return 1
