-- Open the next stage of a job: record its task ids as open. Idempotent: a stage that
-- already began is reported, not reopened.
-- KEYS[1] job hash
-- KEYS[2] open set (task ids of the current stage without a result)
-- ARGV[1] stage_index to begin
-- ARGV[2] stage name
-- ARGV[3] now_ms
-- ARGV[4..] task ids
-- Returns 1 begun, 0 already begun, -1 unknown job, -2 job ended, -3 previous stage open.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'completed' or status == 'partial' or status == 'failed' then return -2 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'stage_index') or '-1')
local idx = tonumber(ARGV[1])
if cur >= idx then return 0 end
if cur ~= idx - 1 or redis.call('SCARD', KEYS[2]) ~= 0 then return -3 end
redis.call('HSET', KEYS[1], 'stage_index', idx, 'stage', ARGV[2], 'status', 'running',
  'updated_ms', ARGV[3])
for i = 4, #ARGV do
  redis.call('SADD', KEYS[2], ARGV[i])
end
return 1
