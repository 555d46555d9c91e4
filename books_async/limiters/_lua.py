"""The Lua scripts that keep a shared quota's sliding log in Redis, each atomic on the Redis server's clock.

Every script reads ``TIME`` itself, so no host's clock ever decides a slot. Times are microseconds. Their
keys and arguments are documented at the top of each script; :mod:`._shared_log` is their only caller.
"""

from typing import Final

__all__ = ["ACQUIRE", "PAUSE", "RELEASE"]

ACQUIRE: Final = """
-- KEYS[1]: slots (sorted set: member "<process>:<seq>", score = Redis time in us until which it counts).
-- KEYS[2]: pause deadline (Redis time in us). KEYS[3]: contenders (sorted set: process -> lease end).
-- ARGV[1]: max_requests; ARGV[2]: window = period + margin (us), how long an admission counts unless its
-- answer re-stamps it; ARGV[3]: process id; ARGV[4]: admission seq; ARGV[5]: "1" if the process has more
-- callers waiting after this one; ARGV[6]: lease grace (us).
-- Returns {1, now} when admitted, else {0, microseconds to wait}.
if redis.replicate_commands then redis.replicate_commands() end  -- Redis < 5: allow writes after TIME
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local maxn, window, me, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[6])

-- A process that must come back (refused, or more callers queued) holds a lease until then plus grace.
local function contend(wait)
  local ttl = math.ceil((wait + grace) / 1000)
  redis.call('ZADD', KEYS[3], now + wait + grace, me)
  if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
  return wait
end

redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)  -- contenders that never came back (crashed, cancelled)
local pause = tonumber(redis.call('GET', KEYS[2]))
if pause and pause > now then
  return {0, contend(pause - now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local slots = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local held = #slots / 2
if held >= maxn then
  -- A slot re-stamped after the leak cap had ended it counts again, so more than maxn may be held: wait
  -- until enough of them end, not just the first.
  return {0, contend(tonumber(slots[2 * (held - maxn) + 2]) - now)}
end
-- Fair share: while other processes contend, none holds more than ceil(max / contenders) of the slots.
local others = redis.call('ZCARD', KEYS[3])
if redis.call('ZSCORE', KEYS[3], me) then others = others - 1 end
if others > 0 then
  local prefix = me .. ':'
  local mine, my_first_end = 0, nil
  for i = 1, #slots, 2 do
    if string.sub(slots[i], 1, #prefix) == prefix then
      mine = mine + 1
      my_first_end = my_first_end or tonumber(slots[i + 1])
    end
  end
  if mine >= math.ceil(maxn / (others + 1)) then
    -- Ask again when its own first slot ends, or after one average slot interval if sooner: the others may
    -- finish (and leave the contenders) long before that at the API's 60 s window.
    return {0, contend(math.min(my_first_end - now, math.ceil(window / maxn)))}
  end
end
redis.call('ZADD', KEYS[1], now + window, me .. ':' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))  -- every slot ends by now + window
if ARGV[5] == '1' then
  contend(0)
else
  redis.call('ZREM', KEYS[3], me)
end
return {1, now}
"""

RELEASE: Final = """
-- KEYS[1]: slots (as in the admission script). ARGV[1]: period (us); ARGV[2..]: members whose answers have
-- arrived. Each counts for one period from now, which is after its answer arrived, so after the API counted
-- it. A member the leak cap already removed is added back: its request is counted from its answer.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + period, ARGV[i])
end
local ttl = math.ceil(period / 1000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end  -- only ever extended
return #ARGV - 1
"""

PAUSE: Final = """
-- KEYS[1]: pause deadline (Redis time in microseconds). ARGV[1]: pause length in microseconds.
-- Only ever extends the pause: a short retryAfter must not cut a longer one short. Returns 1 if extended.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local length = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current >= now + length then
  return 0
end
redis.call('SET', KEYS[1], string.format('%.0f', now + length), 'PX', math.ceil(length / 1000))
return 1
"""
