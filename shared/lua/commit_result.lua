-- Commit one task's result exactly once. A duplicate (redelivered) result changes nothing.
-- The encoded result is not an argument: the caller writes it first with a plain SET to
-- a staging key (KEYS[4]) and this script moves it into place with RENAME (a value
-- passed to Lua is copied into the interpreter, about 1.2 ms per MB with Redis blocked).
-- KEYS[1] job hash
-- KEYS[2] open set
-- KEYS[3] outputs hash (task id -> stage index: the commit record)
-- KEYS[4] staged result string (deleted unless committed)
-- KEYS[5] output string of the task (KEYS[3] .. ':' .. task id)
-- ARGV[1] task id
-- ARGV[2] stage_index of the task
-- ARGV[3] now_ms
-- Returns {code, stage_done}: code 1 committed, 0 duplicate, 2 duplicate of a stage the
-- job has left (a later stage is current), -1 unknown job, -2 job ended, -3 not a task
-- of the current stage; stage_done 1 when the task's stage has no open task left and is
-- still the current stage.
local function refuse(code, done)
  redis.call('DEL', KEYS[4])
  return {code, done}
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return refuse(-1, 0) end
if status == 'completed' or status == 'partial' or status == 'failed' then return refuse(-2, 0) end
local cur = tonumber(redis.call('HGET', KEYS[1], 'stage_index') or '-1')
local done = 0
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  if cur > tonumber(ARGV[2]) then return refuse(2, 0) end
  if cur == tonumber(ARGV[2]) and redis.call('SCARD', KEYS[2]) == 0 then done = 1 end
  return refuse(0, done)
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return refuse(-3, 0) end
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('the staged result ' .. KEYS[4] .. ' is missing')
end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('RENAME', KEYS[4], KEYS[5])
redis.call('PERSIST', KEYS[5])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'updated_ms', ARGV[3])
if redis.call('SCARD', KEYS[2]) == 0 then done = 1 end
return {1, done}
