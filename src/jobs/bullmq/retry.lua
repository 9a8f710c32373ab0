--[[
  opsdeck: moves failed jobs of one BullMQ queue back to be processed, all in
  this one call, so a worker sees each job either failed or waiting.

  Same invariants as BullMQ 5/6's own reprocessJob with resetAttemptsMade and
  resetAttemptsStarted: the job leaves `failed`; finishedOn, processedOn,
  failedReason and the attempt counters go; it joins `wait` (LPUSH, RPUSH for
  lifo jobs) or `prioritized` (scored with the priority counter); a flow
  child rejoins its parent's pending dependencies; a `waiting` event goes to
  the events stream (MAXLEN ~ as BullMQ trims it); the marker wakes blocked
  workers unless the queue is paused or at its global concurrency. On 5+
  a paused queue keeps its jobs in `wait`: the meta flag holds them.

  KEYS[1] failed  KEYS[2] wait  KEYS[3] meta  KEYS[4] active
  KEYS[5] prioritized  KEYS[6] pc  KEYS[7] marker  KEYS[8] events
  ARGV[1] job key prefix (`<prefix>:<queue>:`)
  ARGV[2] Lua pattern the meta version must match
  ARGV[3..] job ids, or for a sweep ARGV[3] = `*COUNT:OFFSET:UNTIL`: the
  COUNT oldest failed jobs that failed by UNTIL (ms), after the first OFFSET
  of them (jobs an earlier sweep call had to leave where they are). Bounded
  by UNTIL, a sweep ends even while workers keep failing jobs, as BullMQ's
  own retryJobs is bounded by its timestamp.

  A sweep returns {ids, codes}; otherwise the codes alone, one per id: 1 moved, 0 not in failed, -1 job hash missing.
]]
local rcall = redis.call
local failed, wait, meta, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prioritized, pc, marker, events = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local base = ARGV[1]

local version = rcall("HGET", meta, "version")
if not version or not string.find(version, ARGV[2]) then
  return redis.error_reply("OPSDECK_VERSION " .. tostring(version))
end

local flags = rcall("HMGET", meta, "paused", "concurrency", "opts.maxLenEvents")
local heldBack = flags[1] ~= false
if not heldBack and flags[2] then
  heldBack = rcall("LLEN", active) >= tonumber(flags[2])
end
local maxEvents = flags[3]
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", meta, "opts.maxLenEvents", maxEvents)
end

local codes = {}
local fifo = {}
local moved = 0
local swept = {}
-- The ids: given, or for a sweep read from `failed` here, in this call.
local count, offset, untilMs = string.match(ARGV[3] or "", "^%*(%d+):(%d+):(%d+)$")
local ids = {}
if count then
  ids = rcall("ZRANGEBYSCORE", failed, "-inf", untilMs, "LIMIT", offset, count)
else
  for i = 3, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
end

for _, id in ipairs(ids) do
  local jobKey = base .. id
  local attrs = rcall("HMGET", jobKey, "name", "priority", "opts", "parentKey")
  local code = 0
  if attrs[1] == false and attrs[3] == false then
    if rcall("ZSCORE", failed, id) then
      code = -1
    end
  elseif count or rcall("ZREM", failed, id) == 1 then
    -- Given ids: ZREM is both the state check and the first step of the
    -- move, so an id given twice is moved once. A sweep's ids were read
    -- from `failed` in this call; they leave it in one ZREM below.
    code = 1
    if count then
      swept[#swept + 1] = id
    end
    moved = moved + 1
    rcall("HDEL", jobKey, "finishedOn", "processedOn", "failedReason", "atm", "ats")
    local priority = tonumber(attrs[2]) or 0
    if priority > 0 then
      local counter = rcall("INCR", pc)
      rcall("ZADD", prioritized, priority * 0x100000000 + counter % 0x100000000, id)
    elseif attrs[3] and string.find(attrs[3], '"lifo":true', 1, true) then
      rcall("RPUSH", wait, id)
    else
      fifo[#fifo + 1] = id
    end
    local parentKey = attrs[4]
    if parentKey and rcall("EXISTS", parentKey) == 1 then
      if rcall("ZREM", parentKey .. ":unsuccessful", jobKey) == 1 or
        rcall("HDEL", parentKey .. ":failed", jobKey) == 1 then
        rcall("SADD", parentKey .. ":dependencies", jobKey)
      end
    end
    rcall("XADD", events, "MAXLEN", "~", maxEvents, "*", "event", "waiting",
      "jobId", id, "prev", "failed")
  end
  codes[#codes + 1] = code
end

-- One LPUSH (and for a sweep one ZREM) per slice instead of one per job;
-- slices stay under Lua's argument limit.
local slice = 5000
if count then
  for from = 1, #swept, slice do
    rcall("ZREM", failed, unpack(swept, from, math.min(from + slice - 1, #swept)))
  end
end
for from = 1, #fifo, slice do
  rcall("LPUSH", wait, unpack(fifo, from, math.min(from + slice - 1, #fifo)))
end

if moved > 0 and not heldBack then
  rcall("ZADD", marker, 0, "0")
end
if count then
  return {ids, codes}
end
return codes
