-- Is a fence still current? A singleton duty asks before a write that matters (the
-- deadline sweeper before ending a job); a stale fence (the lease expired, another
-- holder took it) is refused.
-- KEYS[1] lease hash
-- ARGV[1] holder id
-- ARGV[2] fence the holder was given
-- Returns 1 when ARGV[1] holds the lease with fence ARGV[2], 0 otherwise.
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1]
  and redis.call('HGET', KEYS[1], 'fence') == ARGV[2] then
  return 1
end
return 0
