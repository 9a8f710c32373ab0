--[[
  opsdeck: one page of a BullMQ state set with the hashes of its jobs, in
  one round trip. Read only.

  KEYS[1] the set (`failed`, `wait` ...)
  ARGV[1] job key prefix (`<prefix>:<queue>:`)
  ARGV[2] "z" for a sorted set (newest first by score), "l" for a list
  ARGV[3] the highest score to include (z), or the first index (l)
  ARGV[4] how many ids at most
  ARGV[5..] the hash fields to read

  Returns one {id, score or "", {field values}} per job.
]]
local rcall = redis.call
local base = ARGV[1]
local count = tonumber(ARGV[4])
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end

local out = {}
if ARGV[2] == "z" then
  local rows = rcall("ZREVRANGEBYSCORE", KEYS[1], ARGV[3], "-inf", "WITHSCORES",
    "LIMIT", 0, count)
  for i = 1, #rows, 2 do
    out[#out + 1] = {rows[i], rows[i + 1], rcall("HMGET", base .. rows[i], unpack(fields))}
  end
else
  local from = tonumber(ARGV[3])
  local ids = rcall("LRANGE", KEYS[1], from, from + count - 1)
  for i = 1, #ids do
    out[#out + 1] = {ids[i], "", rcall("HMGET", base .. ids[i], unpack(fields))}
  end
end
return out
