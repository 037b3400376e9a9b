-- Write a value protected by a lock only if the writer's fencing token is not older than
-- the newest one issued for the resource. A holder that paused past its TTL while
-- another took the lock carries an older fence, and its write is refused.
-- KEYS[1] the resource's fence counter
-- KEYS[2] the key to write (shares the resource's hash tag)
-- ARGV[1] the writer's fence
-- ARGV[2] value
-- ARGV[3] ttl_ms of the written key (0 = no TTL)
-- Returns {1, newest fence} when written, {0, newest fence} when refused.
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < newest then
  return {0, newest}
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[2], ARGV[2])
end
return {1, newest}
