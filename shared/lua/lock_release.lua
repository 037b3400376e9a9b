-- Release a lock by compare-and-delete: only the token that holds it deletes it. Also
-- forgets the token as a waiter (a waiter that gives up calls this too).
-- KEYS[1] lock key
-- KEYS[2] holder hash
-- KEYS[3] waiters sorted set
-- KEYS[4] waiters-seen sorted set
-- KEYS[5] waiter labels hash
-- ARGV[1] token
-- Returns 1 when this call released the lock, 0 when the token did not hold it.
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
