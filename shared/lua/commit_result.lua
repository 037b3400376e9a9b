-- Commit one task's result exactly once. A duplicate (redelivered) result changes nothing.
-- KEYS[1] job hash
-- KEYS[2] open set
-- KEYS[3] outputs hash (task id -> encoded stage result)
-- ARGV[1] task id
-- ARGV[2] stage_index of the task
-- ARGV[3] encoded stage result
-- ARGV[4] now_ms
-- Returns {code, stage_done}: code 1 committed, 0 duplicate, 2 duplicate of a stage the
-- job has left (a later stage is current), -1 unknown job, -2 job ended, -3 not a task
-- of the current stage; stage_done 1 when the task's stage has no open task left and is
-- still the current stage.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {-1, 0} end
if status == 'completed' or status == 'partial' or status == 'failed' then return {-2, 0} end
local cur = tonumber(redis.call('HGET', KEYS[1], 'stage_index') or '-1')
local done = 0
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  if cur > tonumber(ARGV[2]) then return {2, 0} end
  if cur == tonumber(ARGV[2]) and redis.call('SCARD', KEYS[2]) == 0 then done = 1 end
  return {0, done}
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return {-3, 0} end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[1], 'updated_ms', ARGV[4])
if redis.call('SCARD', KEYS[2]) == 0 then done = 1 end
return {1, done}
