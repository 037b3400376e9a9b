-- Create a job unless it exists (idempotent submission).
-- KEYS[1] job hash
-- ARGV[1] now_ms
-- ARGV[2] encoded job spec (immutable part)
-- ARGV[3] deadline_at_ms
-- Returns {1} when created, {0, status} when the job already existed.
local status = redis.call('HGET', KEYS[1], 'status')
if status then
  return {0, status}
end
redis.call('HSET', KEYS[1],
  'status', 'accepted',
  'stage_index', -1,
  'stage', '',
  'created_ms', ARGV[1],
  'updated_ms', ARGV[1],
  'deadline_at_ms', ARGV[3],
  'spec', ARGV[2])
return {1}
