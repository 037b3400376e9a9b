-- Take one token from a host's politeness bucket (shared by every web worker).
-- KEYS[1] bucket hash (daa:web:bucket:<host>): fields tokens, ts (Unix ms of last update)
-- ARGV[1] rate: tokens added per second (float > 0)
-- ARGV[2] burst: bucket capacity (integer >= 1)
-- ARGV[3] ttl_ms: expiry of an idle bucket
-- Returns 0 when a token was taken, else the milliseconds until one is available
-- (nothing is taken then). Time is the Redis server's, so workers' clocks do not matter.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(cur[1])
local ts = tonumber(cur[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return wait
