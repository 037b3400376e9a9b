-- A job whose result may be cached: answer it from the cache, let it lead (take the
-- cache lock and run), or register it as a follower of the job that holds the lock.
-- Atomic, so a follower registers either before the leader drains its followers (and is
-- answered by it) or after the leader wrote the cache (and is answered from it here).
-- KEYS[1] cache entry (encoded result document)
-- KEYS[2] followers set
-- KEYS[3] the cache lock (string: token)
-- ARGV[1] job id
-- ARGV[2] the job's lock token
-- ARGV[3] followers set ttl_ms (the follower's remaining deadline and a margin)
-- Returns {2, entry} cached, {1} following, {0} lock free (try to lead), {3} already leads.
local entry = redis.call('GET', KEYS[1])
if entry then
  return {2, entry}
end
local holder = redis.call('GET', KEYS[3])
if not holder then
  return {0}
end
if holder == ARGV[2] then
  return {3}
end
redis.call('SADD', KEYS[2], ARGV[1])
local left = redis.call('PTTL', KEYS[2])
if left < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return {1}
