-- End a job once: store its result document with a TTL and let its state expire.
-- KEYS[1] job hash
-- KEYS[2] result string
-- KEYS[3] outputs hash
-- KEYS[4] open set
-- KEYS[5] attempts list
-- ARGV[1] final status (completed | partial | failed)
-- ARGV[2] encoded result document
-- ARGV[3] ttl_ms
-- ARGV[4] now_ms
-- ARGV[5] error summary ('' when none)
-- Returns 1 when this call ended the job, 0 when it had already ended, -1 unknown job.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'completed' or status == 'partial' or status == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_ms', ARGV[4], 'ended_ms', ARGV[4],
  'error', ARGV[5])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[5], ARGV[3])
return 1
