-- End a job once: store its result document with a TTL and let its state expire.
-- The result document is not an argument: the caller writes it first with a plain SET to
-- a staging key (KEYS[6]) and this script moves it into place with RENAME (a value passed
-- to Lua is copied into the interpreter, about 1.2 ms per MB with Redis blocked).
-- KEYS[1] job hash
-- KEYS[2] result string
-- KEYS[3] outputs hash (its tasks' output strings, KEYS[3] .. ':' .. task id, go too)
-- KEYS[4] open set
-- KEYS[5] attempts list
-- KEYS[6] staged result string (deleted whatever happens)
-- ARGV[1] final status (completed | partial | failed)
-- ARGV[2] ttl_ms
-- ARGV[3] now_ms
-- ARGV[4] error summary ('' when none)
-- Returns 1 when this call ended the job, 0 when it had already ended, -1 unknown job.
local status = redis.call('HGET', KEYS[1], 'status')
if (not status) or status == 'completed' or status == 'partial' or status == 'failed' then
  redis.call('DEL', KEYS[6])
  if not status then return -1 end
  return 0
end
if redis.call('EXISTS', KEYS[6]) == 0 then
  return redis.error_reply('the staged result ' .. KEYS[6] .. ' is missing')
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_ms', ARGV[3], 'ended_ms', ARGV[3],
  'error', ARGV[4])
redis.call('RENAME', KEYS[6], KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
for _, task in ipairs(redis.call('HKEYS', KEYS[3])) do
  redis.call('DEL', KEYS[3] .. ':' .. task)
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[5], ARGV[2])
return 1
