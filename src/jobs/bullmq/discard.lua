--[[
  opsdeck: removes failed jobs of one BullMQ queue the way BullMQ 5/6's
  Job.remove does, all in this one call: out of the state set, the job hash
  and its :logs, :dependencies, :processed, :failed and :unsuccessful keys
  deleted, its deduplication key released when it still points at the job,
  a flow parent left waiting only for this child moved to `wait`, and a
  `removed` event on the events stream.

  Jobs that are locked by a worker or are themselves flow parents with
  children are left alone: BullMQ's own remove handles those recursively.

  KEYS[1] failed  KEYS[2] meta  KEYS[3] events
  ARGV[1] job key prefix (`<prefix>:<queue>:`)
  ARGV[2] Lua pattern the meta version must match
  ARGV[3..] job ids, or for a sweep ARGV[3] = `*COUNT:OFFSET:UNTIL`: the
  COUNT oldest failed jobs that failed by UNTIL (ms), after the first OFFSET
  of them (jobs an earlier sweep call had to leave where they are). Bounded
  by UNTIL, a sweep ends even while workers keep failing jobs, as BullMQ's
  own retryJobs is bounded by its timestamp.

  A sweep returns {ids, codes}; otherwise the codes alone, one per id: 1 removed, 0 not in failed, -2 locked,
  -3 has child jobs.
]]
local rcall = redis.call
local failed, meta, events = KEYS[1], KEYS[2], KEYS[3]
local base = ARGV[1]

local version = rcall("HGET", meta, "version")
if not version or not string.find(version, ARGV[2]) then
  return redis.error_reply("OPSDECK_VERSION " .. tostring(version))
end

local maxEvents = rcall("HGET", meta, "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", meta, "opts.maxLenEvents", maxEvents)
end

-- The queue prefix of a job key `<prefix>:<queue>:<id>`: BullMQ's own
-- getJobIdFromKey takes the id as the last segment too.
local function keyPrefix(jobKey)
  return string.match(jobKey, "^(.*:)[^:]*$")
end

local function releaseParent(jobKey, parentKey)
  if not parentKey or rcall("EXISTS", parentKey) == 0 then
    return
  end
  local deps = parentKey .. ":dependencies"
  if rcall("SREM", deps, jobKey) == 1 and rcall("SCARD", deps) == 0 then
    local parentPrefix = keyPrefix(parentKey)
    local parentId = string.sub(parentKey, #parentPrefix + 1)
    if rcall("ZREM", parentPrefix .. "waiting-children", parentId) == 1 then
      local pflags = rcall("HMGET", parentPrefix .. "meta", "paused", "concurrency")
      local heldBack = pflags[1] ~= false
      if not heldBack and pflags[2] then
        heldBack = rcall("LLEN", parentPrefix .. "active") >= tonumber(pflags[2])
      end
      rcall("RPUSH", parentPrefix .. "wait", parentId)
      if not heldBack then
        rcall("ZADD", parentPrefix .. "marker", 0, "0")
      end
      rcall("XADD", parentPrefix .. "events", "*", "event", "waiting",
        "jobId", parentId, "prev", "waiting-children")
    end
  end
end

local codes = {}
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
  local code = 0
  if rcall("ZSCORE", failed, id) then
    if rcall("EXISTS", jobKey .. ":lock") == 1 then
      code = -2
    elseif rcall("EXISTS", jobKey .. ":dependencies", jobKey .. ":processed",
        jobKey .. ":failed", jobKey .. ":unsuccessful") > 0 then
      code = -3
    else
      code = 1
      local attrs = rcall("HMGET", jobKey, "parentKey", "deid")
      releaseParent(jobKey, attrs[1])
      if attrs[2] then
        local dedup = base .. "de:" .. attrs[2]
        if rcall("GET", dedup) == id then
          rcall("DEL", dedup, base .. "dn:" .. attrs[2])
        end
      end
      rcall("ZREM", failed, id)
      if rcall("DEL", jobKey, jobKey .. ":logs") > 0 then
        rcall("XADD", events, "MAXLEN", "~", maxEvents, "*", "event", "removed",
          "jobId", id, "prev", "failed")
      end
    end
  end
  codes[#codes + 1] = code
end
if count then
  return {ids, codes}
end
return codes
