-- Give a fenced lease up (clean shutdown) so another holder takes it at once.
-- KEYS[1] lease hash
-- ARGV[1] holder id
-- ARGV[2] fence the holder was given
-- Returns 1 when released, 0 when ARGV[1] did not hold it with that fence.
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1]
  and redis.call('HGET', KEYS[1], 'fence') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
